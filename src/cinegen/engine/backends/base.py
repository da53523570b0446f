"""The one protocol every model family implements.

A backend turns a ``RenderJob`` on its own native grid into float frames. It
knows nothing of requests, files or HTTP; the engine resamples and the media
layer encodes.
"""

from __future__ import annotations

import importlib
import logging
import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np

from cinegen.errors import Cancelled
from cinegen.media.keep import Keep
from cinegen.registry import ModelEntry

if TYPE_CHECKING:
    from cinegen.config import Settings

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
    two_stage: bool = False  # the preset's (registry.PresetConfig): half size, then refined
    distilled: bool = False  # the preset's: on the distilled weights, where named
    shift: float = 1.0  # the preset's timestep shift (cinegen-tiny's sampler)
    keep: Keep | None = None  # pixels to hold (needs the model's conditioning capabilities)
    # The held pixels include frames rendered earlier in this generation (a long video's next
    # window, a storyboard's next shot), by this backend's calls since one without it.
    continues: bool = False
    # A clip to remix, (n_frames, height, width, 3) uint8: sampling starts from it noised to
    # ``strength`` (1: ignore it, 0: keep it as it is).
    source: np.ndarray | None = None
    strength: float = 1.0
    # Pictures of the characters the prompt mentions, (h, w, 3) uint8 each, for models that
    # take reference images; they show who appears, not where or when.
    references: tuple[np.ndarray, ...] = ()
    # Sound, for models that make it with the picture: whether it is wanted at all (a model
    # that always makes it may skip decoding it), and the words for it beside the prompt.
    sound: bool = False
    audio_prompt: str = ""
    negative_audio_prompt: str = ""
    # LoRA adapters, (name, scale), installed for the model (models with Capabilities.lora)
    loras: tuple[tuple[str, float], ...] = ()

    @property
    def conditioned(self) -> bool:
        """Whether anything beyond the prompt guides this render."""
        return self.keep is not None or self.source is not None or bool(self.references)

    @property
    def image(self) -> np.ndarray | None:
        """The first frame to animate when ``keep`` holds exactly that, else None."""
        if self.keep is not None and self.keep.first_frame_only:
            first: np.ndarray = self.keep.frames[0]
            return first
        return None


@dataclass(frozen=True)
class Sound:
    """Waveforms, one per video: ``samples`` (V, channels, S) float32 in [-1, 1] at ``rate``
    Hz, spanning the same time as the frames they came with. ``media.audio`` turns one into
    what a file carries (48 kHz stereo at the target loudness)."""

    samples: np.ndarray
    rate: int

    def __post_init__(self) -> None:
        if self.samples.ndim != 3 or self.rate <= 0:
            raise ValueError(
                f"sound must be (videos, channels, samples) at a positive rate, got "
                f"{self.samples.shape} at {self.rate} Hz"
            )


@dataclass(frozen=True)
class Clips:
    """What one render makes: frames per video and, from a model that makes sound with the
    picture (``Capabilities.sound``), their sound."""

    frames: np.ndarray  # (V, F, h, w, 3) float32 in [0, 1]
    sound: Sound | None = None


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

    def render(self, job: RenderJob, hooks: StepHooks) -> Clips:
        """-> frames (len(job.seeds), job.n_frames, job.height, job.width, 3) float32 in
        [0, 1], with their sound (same videos, same span) where the model makes it."""
        ...

    def describe(self) -> dict[str, Any]:
        """For the sidecar: device, dtype, and whether the negative prompt was used."""
        ...


class Soundtrack(Protocol):
    """A video-to-audio model: the sound for finished frames (``ModelEntry.soundtrack``)."""

    def __call__(self, frames: np.ndarray, *, fps: float, prompt: str, seed: int) -> Sound:
        """Frames (F, H, W, 3) uint8 at ``fps`` -> their sound (one video), spanning F / fps
        seconds."""
        ...

    def describe(self) -> dict[str, Any]:
        """For the sidecar: which network made the sound (its weights' sha256)."""
        ...


def load_backend(entry: ModelEntry, settings: Settings) -> Backend:
    """The model's backend, built by the factory its registry entry names
    (``"module:attribute"``, imported now: the heavy libraries load with the model)."""
    factory: Callable[[ModelEntry, Settings], Backend] = _named(entry.factory)
    return factory(entry, settings)


def load_soundtrack(entry: ModelEntry, settings: Settings) -> Soundtrack:
    """The video-to-audio model ``entry.soundtrack`` names, imported now."""
    assert entry.soundtrack is not None
    factory: Callable[[ModelEntry, Settings], Soundtrack] = _named(entry.soundtrack)
    return factory(entry, settings)


def _named(name: str) -> Any:
    """The object ``"module:attribute"`` names."""
    module_name, _, attr = name.partition(":")
    return getattr(importlib.import_module(module_name), attr)
