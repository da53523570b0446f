"""The one protocol every model family implements.

A backend turns a ``RenderJob`` on its own native grid into float frames. It
knows nothing of requests, files or HTTP; the engine resamples and the media
layer encodes.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np

from cinegen.engine.registry import ModelEntry
from cinegen.errors import Cancelled


@dataclass(frozen=True)
class RenderJob:
    prompt: str
    negative_prompt: str
    width: int  # native, on the model's grid
    height: int
    n_frames: int
    fps: float
    seeds: list[int]  # one video per seed
    steps: int
    guidance: float
    cache: bool = False
    image: np.ndarray | None = None  # (height, width, 3) uint8 first frame to animate


@dataclass
class StepHooks:
    """Called by a backend between denoising steps: progress and cooperative cancel."""

    on_step: Callable[[int, int], None] = lambda done, total: None
    should_stop: Callable[[], bool] = lambda: False
    steps_done: int = field(default=0, init=False)

    def step(self, total: int) -> None:
        """Count one finished step; stop here if asked. Raises ``Cancelled``."""
        self.steps_done += 1
        self.on_step(self.steps_done, total)
        self.check()

    def check(self) -> None:
        if self.should_stop():
            raise Cancelled()


class Backend(Protocol):
    entry: ModelEntry

    def render(self, job: RenderJob, hooks: StepHooks) -> np.ndarray:
        """-> (len(job.seeds), job.n_frames, job.height, job.width, 3) float32 in [0, 1]."""
        ...

    def describe(self) -> dict[str, Any]:
        """For the sidecar: device, dtype, and whether the negative prompt was used."""
        ...
