"""Operations as layouts of the output timeline: what is rendered, what is held, and where.

Every operation (``spec.Operation``) becomes a ``Layout``:

- ``segments``: the parts of the timeline to render, one after another, each under its own
  prompt (a storyboard's shots) with a little *context* either side: frames outside the
  segment, already known, that the render holds so that the new part joins them;
- ``placed``: given pixels on the timeline (an image at a frame, the clip being extended,
  everything outside an inpaint region), held while rendering and pasted back at full size
  afterwards, so they come back exactly;
- ``remix``: the clip a remix starts sampling from, noised to its strength.

``LAYOUTS`` maps each operation to the function that lays it out from the spec and its media.
The engine (``engine.py``) renders the segments on the model's native grid through
``native_keep`` / ``native_source`` and assembles the output.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

import numpy as np
from PIL import Image

from cinegen.engine.resample import crop_box
from cinegen.errors import SpecError
from cinegen.media import audio
from cinegen.media.keep import Keep
from cinegen.spec import Box, GenerationSpec, InpaintItem, Operation

FULL: Box = (0.0, 0.0, 1.0, 1.0)
# A segment that joins known frames holds this much of them (at least two frames, so the
# model sees which way things move).
CONTEXT_SECONDS = 0.5


class MediaResolver(Protocol):
    """Turns an upload or generation id into pixels: (F, H, W, 3) uint8."""

    def __call__(self, item: InpaintItem) -> np.ndarray: ...


@dataclass(frozen=True)
class SourceSound:
    """A video's own sound track: ``samples`` (C, S) float32 at ``rate``, beside frames at
    ``fps``."""

    samples: np.ndarray
    rate: int
    fps: float

    def under(self, frames: range, n_frames: int, fps: float) -> np.ndarray:
        """The sound under the video's ``frames``, stretched as they are onto ``n_frames``
        output frames at ``fps``: stereo at ``media.audio.RATE``. Time past the track's end
        is silent."""
        first = round(frames.start / self.fps * self.rate)
        stop = round(frames.stop / self.fps * self.rate)
        cut = self.samples[:, first:stop]
        if cut.shape[1] < stop - first:
            cut = np.pad(cut, ((0, 0), (0, stop - first - cut.shape[1])))
        return audio.fit(cut, self.rate, audio.samples_for(n_frames / fps))


@runtime_checkable
class SoundResolver(Protocol):
    """A ``MediaResolver`` that also hears: an item's own sound, or None for a silent one."""

    def sound(self, item: InpaintItem) -> SourceSound | None: ...


@dataclass(frozen=True)
class Placed:
    """Given pixels on the timeline: ``frames`` (k, h, w, 3) uint8 of any size, the first
    shown at output frame ``start``; ``crop`` the normalised part of each frame used (fitted
    to the output's aspect by a centred crop); ``region`` the normalised part of the output
    regenerated around them (None: the whole frame is held)."""

    frames: np.ndarray
    start: int
    crop: Box = FULL
    region: Box | None = None
    # Frames of a video keep their own sound (a picture does not): ``sound``, stereo at
    # ``media.audio.RATE`` spanning the frames at the output's rate, or silence if None.
    keeps_sound: bool = False
    sound: np.ndarray | None = None

    @property
    def stop(self) -> int:
        return self.start + len(self.frames)

    def frame(self, t: int, width: int, height: int) -> np.ndarray:
        """Timeline frame ``t`` of this item at ``width`` x ``height``, uint8."""
        return fit(self.frames[t - self.start], self.crop, width, height)

    def held(self, width: int, height: int) -> np.ndarray:
        """(height, width) bool: true where this item's pixels are kept."""
        mask = np.ones((height, width), bool)
        if self.region is not None:
            x0, y0, x1, y1 = self.region
            rows = slice(round(y0 * height), max(round(y1 * height), round(y0 * height) + 1))
            cols = slice(round(x0 * width), max(round(x1 * width), round(x0 * width) + 1))
            mask[rows, cols] = False
        return mask


@dataclass(frozen=True)
class Segment:
    """Output frames ``start`` to ``stop`` (exclusive) rendered under ``prompt`` (unstyled),
    holding ``before`` known frames ahead of them and ``after`` known frames behind."""

    prompt: str
    start: int
    stop: int
    before: int = 0
    after: int = 0

    @property
    def window(self) -> range:
        """Every timeline frame the render covers, context included."""
        return range(self.start - self.before, self.stop + self.after)


@dataclass(frozen=True)
class Remix:
    """The clip a remix starts from, stretched or squeezed over ``n_frames`` timeline frames."""

    frames: np.ndarray
    n_frames: int
    strength: float | str | None  # a number, a name (subtle, mild, strong) or None: mild
    sound: np.ndarray | None = None  # the clip's, stretched likewise (stereo, audio.RATE)

    def frame(self, t: int, width: int, height: int) -> np.ndarray:
        i = round(t * (len(self.frames) - 1) / max(self.n_frames - 1, 1))
        return fit(self.frames[i], FULL, width, height)


@dataclass(frozen=True)
class Layout:
    segments: tuple[Segment, ...]
    placed: tuple[Placed, ...] = ()
    remix: Remix | None = None

    def held_at(self, t: int) -> list[Placed]:
        return [p for p in self.placed if p.start <= t < p.stop]


# ---- the operations -----------------------------------------------------------------------


def lay_out(spec: GenerationSpec, media: MediaResolver | None) -> Layout:
    """The spec's operation as a layout, its media read. Raises ``SpecError`` for media that
    cannot be found or a length that leaves nothing to generate."""
    has_media = spec.inpaint_items or any(shot.media for shot in spec.storyboard)
    if media is None and (spec.source or has_media):
        raise SpecError("source" if spec.source else "inpaint_items", "no media store is available")
    return LAYOUTS[spec.operation](spec, _Media(spec, media))


def reference_pictures(spec: GenerationSpec, media: MediaResolver | None) -> dict[str, np.ndarray]:
    """Each character's reference picture by name, (h, w, 3) uint8: its image, or the middle
    frame of its clip. Characters without a reference have none."""
    pictures = {}
    for i, character in enumerate(spec.characters):
        if character.upload_id is None:
            continue
        if media is None:
            raise SpecError(f"characters.{i}.upload_id", "no media store is available")
        try:
            frames = media(InpaintItem(type="video", upload_id=character.upload_id))
        except SpecError as exc:
            raise SpecError(
                f"characters.{i}.upload_id", exc.message, value=character.upload_id
            ) from None
        pictures[character.name] = frames[len(frames) // 2]
    return pictures


@dataclass(frozen=True)
class _Media:
    spec: GenerationSpec
    resolve: MediaResolver | None

    def sound(self, item: InpaintItem, frames: range, n_frames: int) -> np.ndarray | None:
        """The sound under ``frames`` of the item's video, over ``n_frames`` output frames;
        None for a silent video or a resolver that cannot hear."""
        if not isinstance(self.resolve, SoundResolver):
            return None
        found = self.resolve.sound(item)
        return found.under(frames, n_frames, self.spec.fps) if found is not None else None

    def source_sound(self, k: int, frames: range, n_frames: int) -> np.ndarray | None:
        assert self.spec.source is not None
        gid = self.spec.source.generation_ids[k]
        return self.sound(InpaintItem(type="video", generation_id=gid), frames, n_frames)

    def items(self, items: Sequence[InpaintItem], field: str, offset: int = 0) -> list[Placed]:
        """Media items on the timeline: an image holds one frame, a video its frame range."""
        placed = []
        for i, item in enumerate(items):
            assert self.resolve is not None
            frames = self.resolve(item)
            if item.type == "image":
                frames = frames[:1]
            else:
                start = item.source_start_frame or 0
                end = len(frames) - 1 if item.source_end_frame is None else item.source_end_frame
                if start >= len(frames):
                    raise SpecError(
                        f"{field}.{i}.source_start_frame",
                        "is past the video's last frame",
                        value=start,
                        allowed=f"0..{len(frames) - 1}",
                    )
                frames = frames[start : end + 1]
            at = offset + item.frame_index
            frames = frames[: max(0, self.spec.n_frames - at)]  # nothing past the end
            if item.type == "image":
                placed.append(Placed(frames, at, crop=item.crop_bounds.bounds))
                continue
            start = item.source_start_frame or 0
            sound = self.sound(item, range(start, start + len(frames)), len(frames))
            crop = item.crop_bounds.bounds
            placed.append(Placed(frames, at, crop=crop, keeps_sound=True, sound=sound))
        return placed

    def source(self, k: int = 0) -> np.ndarray:
        """Source ``k`` (a generation id, or a file for the CLI), (F, H, W, 3) uint8."""
        assert self.spec.source is not None and self.resolve is not None
        gid = self.spec.source.generation_ids[k]
        try:
            return self.resolve(InpaintItem(type="video", generation_id=gid))
        except SpecError as exc:
            raise SpecError(f"source.generation_ids.{k}", exc.message, value=gid) from None

    def picked(self) -> tuple[np.ndarray, range]:
        """The part of source 0 that ``source.start_frame`` / ``end_frame`` pick, and which
        of its frames those are."""
        assert self.spec.source is not None
        clip = self.source(0)
        frames = range(len(clip))[self.spec.source.frames(len(clip))]
        return clip[frames.start : frames.stop], frames


def _context(spec: GenerationSpec, available: int) -> int:
    return min(available, max(2, round(CONTEXT_SECONDS * spec.fps)))


def _room(spec: GenerationSpec, kept: int, what: str) -> None:
    """Refuse an output with no frame left to generate."""
    if kept >= spec.n_frames:
        raise SpecError(
            "n_frames",
            f"leaves nothing to generate: {what} already fills {kept} frames",
            value=spec.n_frames,
            allowed=f"more than {kept}",
        )


def _compose(spec: GenerationSpec, media: _Media) -> Layout:
    placed = media.items(spec.inpaint_items, "inpaint_items")
    return Layout((Segment(spec.prompt, 0, spec.n_frames),), tuple(placed))


def _storyboard(spec: GenerationSpec, media: _Media) -> Layout:
    """Each shot renders after the one before, holding its last frame (a shot with its own
    media starts from that instead: a cut)."""
    shots = spec.storyboard
    stops = [s.start_frame for s in shots[1:]] + [spec.n_frames]
    segments, placed = [], media.items(spec.inpaint_items, "inpaint_items")
    for k, (shot, stop) in enumerate(zip(shots, stops, strict=True)):
        # A new shot starts from the last picture of the one before, not its motion: holding
        # more would hold the old action against the new prompt.
        before = 1 if k and shot.media is None else 0
        segments.append(Segment(shot.prompt, shot.start_frame, stop, before=before))
        if shot.media is not None:
            placed += media.items([shot.media], f"storyboard.{k}.media", offset=shot.start_frame)
    return Layout(tuple(segments), tuple(placed))


def _remix(spec: GenerationSpec, media: _Media) -> Layout:
    assert spec.source is not None
    clip, frames = media.picked()
    sound = media.source_sound(0, frames, spec.n_frames)
    remix = Remix(clip, spec.n_frames, spec.source.strength, sound)
    placed = media.items(spec.inpaint_items, "inpaint_items")
    return Layout((Segment(spec.prompt, 0, spec.n_frames),), tuple(placed), remix)


def _extend(spec: GenerationSpec, media: _Media) -> Layout:
    """The source stays as it is; new frames continue it (forward) or lead into it."""
    assert spec.source is not None
    clip, frames = media.picked()
    _room(spec, len(clip), "the source")
    n, kept, context = spec.n_frames, len(clip), _context(spec, len(clip))
    sound = media.source_sound(0, frames, kept)
    if spec.source.direction == "forward":
        source = Placed(clip, 0, keeps_sound=True, sound=sound)
        return Layout((Segment(spec.prompt, kept, n, before=context),), (source,))
    source = Placed(clip, n - kept, keeps_sound=True, sound=sound)
    return Layout((Segment(spec.prompt, 0, n - kept, after=context),), (source,))


def _loop(spec: GenerationSpec, media: _Media) -> Layout:
    """The source, then a bridge from its last frame back to its first: played on repeat,
    the last frame flows into the first.

    The bridge holds one picture at each seam, not the motion around it: it has to turn the
    source's motion round (to come back), so holding the source's last moves would push it on
    the wrong way, and on a model with few native frames (cinegen-tiny: 16 for any window)
    every held frame is one fewer to come back in. With one frame each side, the render's
    first and last native frames fall exactly on the two seam pictures."""
    clip, frames = media.picked()
    _room(spec, len(clip), "the source")
    n = spec.n_frames
    sound = media.source_sound(0, frames, len(clip))
    # The source's first frame again just past the end: the bridge's after-context, never output.
    placed = (Placed(clip, 0, keeps_sound=True, sound=sound), Placed(clip[:1], n))
    return Layout((Segment(spec.prompt, len(clip), n, before=1, after=1),), placed)


def _blend(spec: GenerationSpec, media: _Media) -> Layout:
    """Video A's opening third, a transition under the prompt, video B's closing third."""
    whole_a, whole_b = media.source(0), media.source(1)
    third = max(1, spec.n_frames // 3)
    a, b = whole_a[:third], whole_b[-third:]
    _room(spec, len(a) + len(b), "the two videos' thirds")
    n = spec.n_frames
    segment = Segment(
        spec.prompt, len(a), n - len(b), before=_context(spec, len(a)), after=_context(spec, len(b))
    )
    sound_a = media.source_sound(0, range(len(a)), len(a))
    sound_b = media.source_sound(1, range(len(whole_b) - len(b), len(whole_b)), len(b))
    placed = (
        Placed(a, 0, keeps_sound=True, sound=sound_a),
        Placed(b, n - len(b), keeps_sound=True, sound=sound_b),
    )
    return Layout((segment,), placed)


def _inpaint(spec: GenerationSpec, media: _Media) -> Layout:
    """The source over the whole output; inside the frame range (default: all frames) the
    region (default: the whole frame) is regenerated under the prompt."""
    source = spec.source
    assert source is not None
    clip = media.source(0)
    n = spec.n_frames
    sound = media.source_sound(0, range(len(clip)), n)  # stretched with the frames
    if len(clip) != n:  # stretch or squeeze the source over the requested length
        clip = clip[np.round(np.linspace(0, len(clip) - 1, n)).astype(int)]
    picked = source.frames(n)
    # (frames, region regenerated in them): outside the range whole frames are kept; inside
    # it, with a region, all but the region (and the sound, as most of the picture stays)
    kept: list[tuple[range, Box | None]] = [(range(0, picked.start), None)]
    kept.append((range(picked.stop, n), None))
    if source.region is not None:
        kept.append((range(picked.start, picked.stop), source.region))
    placed = [
        Placed(
            clip[span.start : span.stop],
            span.start,
            region=region,
            keeps_sound=True,
            sound=_cut(sound, span, spec.fps),
        )
        for span, region in kept
        if span
    ]
    placed += media.items(spec.inpaint_items, "inpaint_items")
    return Layout((Segment(spec.prompt, 0, n),), tuple(placed))


def _cut(sound: np.ndarray | None, frames: range, fps: float) -> np.ndarray | None:
    """The part of a timeline's sound under ``frames``."""
    if sound is None:
        return None
    first = audio.samples_for(frames.start / fps) if frames.start else 0
    return sound[:, first : audio.samples_for(frames.stop / fps)]


def _recut(spec: GenerationSpec, media: _Media) -> Layout:
    """The picked frames stay where they were; the rest is regenerated around them."""
    assert spec.source is not None
    clip = media.source(0)
    picked = spec.source.frames(len(clip))
    n = spec.n_frames
    if picked.start >= n:
        raise SpecError(
            "source.start_frame",
            "is past the output's last frame",
            value=picked.start,
            allowed=f"0..{n - 1}",
        )
    kept = clip[picked][: n - picked.start]
    _room(spec, len(kept), f"frames {picked.start}..{picked.start + len(kept) - 1}")
    sound = media.source_sound(0, range(picked.start, picked.start + len(kept)), len(kept))
    context = _context(spec, len(kept))
    segments = []
    if picked.start > 0:
        segments.append(Segment(spec.prompt, 0, picked.start, after=context))
    if picked.start + len(kept) < n:
        segments.append(Segment(spec.prompt, picked.start + len(kept), n, before=context))
    return Layout(tuple(segments), (Placed(kept, picked.start, keeps_sound=True, sound=sound),))


LAYOUTS: dict[Operation, Callable[[GenerationSpec, _Media], Layout]] = {
    Operation.simple_compose: _compose,
    Operation.storyboard: _storyboard,
    Operation.remix: _remix,
    Operation.extend: _extend,
    Operation.loop: _loop,
    Operation.blend: _blend,
    Operation.inpaint: _inpaint,
    Operation.recut: _recut,
}


# ---- the native grid -------------------------------------------------------------------


def window_positions(window: range, native_frames: int) -> np.ndarray:
    """The timeline position of each native frame of a render over ``window`` (the inverse of
    ``resample.time_positions``: first and last frames aligned)."""
    if native_frames == 1 or len(window) == 1:
        return np.full(native_frames, window.start + (len(window) - 1) / 2)
    return window.start + np.linspace(0.0, len(window) - 1, native_frames)


def native_keep(
    held: Callable[[int], Sequence[Placed]],
    window: range,
    native_frames: int,
    native_size: tuple[int, int],
    output_size: tuple[int, int],
) -> Keep | None:
    """What a render over ``window`` holds, on the native grid; None if nothing.

    A native frame lying between two timeline frames holds an item that gives both (its
    pixels at the nearer one); a single given frame (an image) is held by the native frame
    nearest to it. Given pixels cover the part of the native frame the output is cropped
    from; the rest is free."""
    nw, nh = native_size
    frames = np.zeros((native_frames, nh, nw, 3), np.uint8)
    mask = np.zeros((native_frames, nh, nw), bool)
    positions = window_positions(window, native_frames)
    x0, y0, x1, y1 = crop_box(nw, nh, *output_size)
    picks: dict[int, tuple[int, list[Placed]]] = {}
    for j, p in enumerate(positions):
        below, above = held(math.floor(p + 1e-6)), held(math.ceil(p - 1e-6))
        spanning = [item for item in below if any(item is other for other in above)]
        if spanning:
            picks[j] = (round(p), spanning)
    for t in window:  # one-frame items: the nearest native frame holds them
        single = [item for item in held(t) if item.stop - item.start == 1]
        if single:
            picks[int(np.argmin(np.abs(positions - t)))] = (t, single)
    pad = ((y0, nh - y1), (x0, nw - x1), (0, 0))
    for j, (t, items) in picks.items():
        for item in items:
            pixels = item.frame(t, x1 - x0, y1 - y0)
            kept = item.held(x1 - x0, y1 - y0)
            inside = frames[j, y0:y1, x0:x1]
            inside[kept] = pixels[kept]
            frames[j] = np.pad(inside, pad, mode="edge")  # margins: for models that need them
            mask[j, y0:y1, x0:x1] |= kept
    return Keep(frames, mask) if mask.any() else None


def native_source(
    remix: Remix,
    window: range,
    native_frames: int,
    native_size: tuple[int, int],
    output_size: tuple[int, int],
) -> np.ndarray:
    """The remix's clip on the native grid, (F, h, w, 3) uint8: the output's part of each
    native frame from the clip, the margins cropped away from the output repeated from its
    edges."""
    nw, nh = native_size
    x0, y0, x1, y1 = crop_box(nw, nh, *output_size)
    pad = ((y0, nh - y1), (x0, nw - x1), (0, 0))
    frames = [
        np.pad(remix.frame(round(p), x1 - x0, y1 - y0), pad, mode="edge")
        for p in window_positions(window, native_frames)
    ]
    return np.stack(frames)


def fit(frame: np.ndarray, crop: Box, width: int, height: int) -> np.ndarray:
    """The ``crop`` part of ``frame``, centre-cropped to ``width:height`` and resized to it."""
    h, w = frame.shape[:2]
    if crop == FULL and (w, h) == (width, height):
        return frame
    cx0, cy0, cx1, cy1 = crop
    box = (round(cx0 * w), round(cy0 * h), max(round(cx1 * w), 1), max(round(cy1 * h), 1))
    part = Image.fromarray(frame).crop(box)
    ax0, ay0, ax1, ay1 = crop_box(part.width, part.height, width, height)
    part = part.crop((ax0, ay0, ax1, ay1)).resize((width, height), Image.Resampling.LANCZOS)
    return np.asarray(part, dtype=np.uint8)


def paste(layout: Layout, frames: np.ndarray, first: int = 0) -> np.ndarray:
    """Put the given pixels back, exactly, into timeline frames ``first``.. (in place)."""
    height, width = frames.shape[1:3]
    for item in layout.placed:
        kept = item.held(width, height)
        for t in range(max(item.start, first), min(item.stop, first + len(frames))):
            pixels = item.frame(t, width, height)
            if item.region is None:
                frames[t - first] = pixels
            else:
                frames[t - first][kept] = pixels[kept]
    return frames
