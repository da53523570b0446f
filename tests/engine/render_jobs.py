"""A render job for the tiny twins' backend tests: what every one of them renders, the
differences (size, rate, steps, sound) given by each test module; and a first frame to hold."""

from __future__ import annotations

from typing import Any

import numpy as np

from cinegen.engine.backends.base import RenderJob
from cinegen.media.keep import Keep


def tiny_job(**fields: Any) -> RenderJob:
    """A short prompt, two seeds, two steps, nine frames; ``fields`` override any of it."""
    base: dict[str, Any] = dict(
        prompt="a red ball bouncing",
        negative_prompt="blurry",
        n_frames=9,
        seeds=[1, 2],
        steps=2,
    )
    return RenderJob(**{**base, **fields})


def first_frame(width: int, height: int, color: tuple[int, int, int] = (255, 0, 0)) -> Keep:
    """Frame 0 of a nine-frame job held: its left half ``color``, its right half black."""
    frames = np.zeros((9, height, width, 3), np.uint8)
    frames[0, :, : width // 2] = color
    mask = np.zeros((9, height, width), bool)
    mask[0] = True
    return Keep(frames, mask)
