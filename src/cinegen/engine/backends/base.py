"""The one protocol every model family implements.

A backend turns a ``RenderJob`` on its own native grid into float frames. It
knows nothing of requests, files or HTTP; the engine resamples and the media
layer encodes.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np

from cinegen.engine.registry import ModelEntry
from cinegen.errors import Cancelled

log = logging.getLogger(__name__)


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
    """Called by a backend between denoising steps: progress, previews, cooperative cancel.

    A backend that can show where sampling is heading passes ``step`` a ``preview``: a
    function returning one (h, w, 3) uint8 frame. It is called only when the caller asked
    for previews (``on_preview``; the worker does, for the event stream) and at most every
    ``preview_every_s`` seconds, so a costly decode is paid for only when it is wanted. A
    preview that fails, made or delivered, is logged and ends the previews, never the
    render."""

    on_step: Callable[[int, int], None] = lambda done, total: None
    should_stop: Callable[[], bool] = lambda: False
    on_preview: Callable[[np.ndarray], None] | None = None
    preview_every_s: float = 1.0
    steps_done: int = field(default=0, init=False)
    _last_preview: float = field(default=-math.inf, init=False)

    def step(self, total: int, preview: Callable[[], np.ndarray] | None = None) -> None:
        """Count one finished step; offer a preview; stop here if asked. Raises
        ``Cancelled``."""
        self.steps_done += 1
        self.on_step(self.steps_done, total)
        now = time.monotonic()
        due = now - self._last_preview >= self.preview_every_s or self.steps_done == total
        if preview is not None and self.on_preview is not None and due:
            self._last_preview = now
            try:
                self.on_preview(preview())
            except Exception:  # a preview must never cost the video
                log.warning("a preview failed; no more for this render", exc_info=True)
                self.on_preview = None
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
