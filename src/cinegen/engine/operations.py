"""Operations as layouts of the output timeline: what each operation renders and holds.

Every operation (``spec.Operation``) becomes a ``layout.Layout``: the segments to render,
each with a little context of known frames either side, the given pixels placed on the
timeline, and a remix's source clip.

``LAYOUTS`` maps each operation to the function that lays it out from the spec and its media
(read through a ``sources.MediaResolver``). The engine (``engine.py``) splits segments longer
than one render into windows (``windows.py``), renders the segments on the model's native
grid (``grid.py``: what each render holds) and assembles the output, the given pixels put
back by ``layout.paste``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from cinegen.engine.layout import Layout, Placed, Remix, Segment
from cinegen.engine.sources import MediaResolver, SoundResolver
from cinegen.errors import SpecError
from cinegen.media import audio
from cinegen.spec import GenerationSpec, Operation
from cinegen.spec_parts import Box, InpaintItem

# A segment that joins known frames holds this much of them (at least two frames, so the
# model sees which way things move).
CONTEXT_SECONDS = 0.5


def lay_out(spec: GenerationSpec, media: MediaResolver | None) -> Layout:
    """The spec's operation as a layout, its media read. Raises ``SpecError`` for media that
    cannot be found or a length that leaves nothing to generate."""
    has_media = spec.inpaint_items or any(shot.media for shot in spec.storyboard)
    if media is None and (spec.source or has_media):
        raise SpecError("source" if spec.source else "inpaint_items", "no media store is available")
    return LAYOUTS[spec.operation](spec, _Media(spec, media))


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
        spec.prompt,
        len(a),
        n - len(b),
        before=_context(spec, len(a)),
        after=_context(spec, len(b)),
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
