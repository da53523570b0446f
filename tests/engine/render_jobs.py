"""A render job for the tiny twins' backend tests: what every one of them renders, the
differences (size, rate, steps, sound) given by each test module."""

from __future__ import annotations

from typing import Any

from cinegen.engine.backends.base import RenderJob


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
