"""Native frames -> exactly the requested frame count and size, as uint8.

Backends render on their own grid (multiples of 16 or 32, k*step+1 frames, their
own frame rate); the file must hold exactly what was asked. Time is resampled by
linear blending between neighbouring native frames with the first and last frames
aligned, so the whole rendered clip is kept. Space is resampled by centre-cropping
the native frame to the requested aspect ratio (a model with a fixed 720x480 grid
asked for portrait video must not be stretched), then antialiased bilinear
filtering. Float work is done 16 frames at a time; the result is one uint8 clip.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import numpy as np
import torch
import torch.nn.functional as F

CHUNK_FRAMES = 16


def time_positions(native_frames: int, n_frames: int) -> np.ndarray:
    """Fractional native-frame position of each output frame, endpoints aligned."""
    if n_frames == 1 or native_frames == 1:
        return np.zeros(n_frames) if native_frames == 1 else np.array([(native_frames - 1) / 2])
    return np.linspace(0.0, native_frames - 1, n_frames)


def resample_video(
    frames: np.ndarray,
    n_frames: int,
    width: int,
    height: int,
    on_chunk: Callable[[int, int], None] | None = None,
    first: int = 0,
    stop: int | None = None,
) -> np.ndarray:
    """(F, h, w, 3) float in [0, 1] -> (n_frames, height, width, 3) uint8, or only output
    frames ``first`` to ``stop`` of them."""
    stop = n_frames if stop is None else stop
    out = np.empty((stop - first, height, width, 3), dtype=np.uint8)
    for start, chunk in _chunks(frames, n_frames, width, height, first, stop):
        out[start - first : start - first + len(chunk)] = chunk
        if on_chunk:
            on_chunk(start - first + len(chunk), stop - first)
    return out


def crop_box(width: int, height: int, target_w: int, target_h: int) -> tuple[int, int, int, int]:
    """(x0, y0, x1, y1): the centred part of a width x height frame with the target's aspect."""
    if width * target_h > height * target_w:  # native is wider: trim the sides
        keep = max(1, round(height * target_w / target_h))
        x0 = (width - keep) // 2
        return x0, 0, x0 + keep, height
    keep = max(1, round(width * target_h / target_w))
    y0 = (height - keep) // 2
    return 0, y0, width, y0 + keep


def _chunks(
    frames: np.ndarray, n_frames: int, width: int, height: int, first: int, stop: int
) -> Iterator[tuple[int, np.ndarray]]:
    source = torch.from_numpy(np.ascontiguousarray(frames, dtype=np.float32))
    positions = time_positions(len(frames), n_frames)
    lower = np.floor(positions).astype(np.int64)
    upper = np.minimum(lower + 1, len(frames) - 1)
    weight = torch.from_numpy((positions - lower).astype(np.float32)).view(-1, 1, 1, 1)
    x0, y0, x1, y1 = crop_box(frames.shape[2], frames.shape[1], width, height)
    source = source[:, y0:y1, x0:x1]  # a view: nothing is copied until the blend
    same_size = tuple(source.shape[1:3]) == (height, width)
    same_time = len(frames) == n_frames  # positions are 0, 1, 2, ...: nothing to blend
    for start in range(first, stop, CHUNK_FRAMES):
        sl = slice(start, min(start + CHUNK_FRAMES, stop))
        if same_time:
            blended = source[sl].clone()  # (n, h, w, 3); a copy, as the steps below are in place
        else:
            w = weight[sl]
            blended = source[lower[sl]] * (1 - w) + source[upper[sl]] * w  # (n, h, w, 3)
        if not same_size:
            nchw = blended.permute(0, 3, 1, 2)  # (n, 3, h, w)
            nchw = F.interpolate(
                nchw, size=(height, width), mode="bilinear", antialias=True, align_corners=False
            )
            blended = nchw.permute(0, 2, 3, 1)  # (n, H, W, 3)
        yield start, blended.mul_(255).add_(0.5).clamp_(0, 255).to(torch.uint8).numpy()
