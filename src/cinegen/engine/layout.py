"""A layout of the output timeline: what is rendered, what is held, and where.

A ``Layout`` (what ``operations.lay_out`` makes of each operation) holds:

- ``segments``: the parts of the timeline to render, one after another, each under its own
  prompt (a storyboard's shots) with a little *context* either side: frames outside the
  segment, already known, that the render holds so that the new part joins them;
- ``placed``: given pixels on the timeline (an image at a frame, the clip being extended,
  everything outside an inpaint region), held while rendering and pasted back at full size
  afterwards, so they come back exactly;
- ``remix``: the clip a remix starts sampling from, noised to its strength;
- ``windows``: how segments longer than one render were split (``windows.in_windows``).

Given pixels come at any size: ``fit`` crops and resizes them to the output's (or a
render's) grid, and ``paste`` puts them back, exactly, into the assembled output.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from PIL import Image

from cinegen.media.resample import crop_box
from cinegen.spec_parts import Box

FULL: Box = (0.0, 0.0, 1.0, 1.0)


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
class Windows:
    """How segments longer than one render were split (``in_windows``), in output frames:
    each window at most ``window_frames`` long, each after the first holding the ``overlap``
    last frames of the one before."""

    window_frames: int
    overlap: int


@dataclass(frozen=True)
class Layout:
    segments: tuple[Segment, ...]
    placed: tuple[Placed, ...] = ()
    remix: Remix | None = None
    windows: Windows | None = None  # set where a segment was split (long video)

    def held_at(self, t: int) -> list[Placed]:
        return [p for p in self.placed if p.start <= t < p.stop]


# ---- the given pixels at any size ---------------------------------------------------------


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
