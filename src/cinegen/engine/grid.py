"""A layout on the model's native grid: what one render holds, and a remix's start.

A segment renders over a window of timeline frames at the model's own frame count and
size (``plan.py``: the native grid). ``native_keep`` turns the layout's given pixels in
that window into the ``Keep`` the render holds; ``native_source`` turns a remix's clip into
the frames its sampling starts from. Both place the output's picture where the output is
later cropped from (``resample.crop_box``). Afterwards the engine resamples to the
requested grid and pastes the given pixels back exactly (``layout.paste``).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import numpy as np

from cinegen.engine.layout import Placed, Remix
from cinegen.media.keep import Keep
from cinegen.media.resample import crop_box


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
