"""cinegen-tiny's soundtrack behind the ``Soundtrack`` protocol (``ModelEntry.soundtrack``).

A small video-to-audio network of its own (``models/tiny/soundtrack.py``), on the CPU
whatever the video model runs on: it costs milliseconds. Its weights ship inside the
package; a retrained bundle (``cinegen train-tiny-audio``) loads from
``Settings.model_paths["cinegen-tiny-audio"]``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from cinegen.config import Settings
from cinegen.engine.backends.base import Sound
from cinegen.models.tiny import sound
from cinegen.models.tiny.soundtrack import TinySoundtrack
from cinegen.registry import ModelEntry

AUDIO_ID = "cinegen-tiny-audio"


@dataclass(frozen=True)
class CinegenTinySoundtrack:
    """The network as a ``Soundtrack``: the picture alone decides the sound (the prompt is
    not read: the sound is learned from pixels)."""

    network: TinySoundtrack

    def __call__(self, frames: np.ndarray, *, fps: float, prompt: str, seed: int) -> Sound:
        return Sound(self.network.waveform(frames, fps=fps, seed=seed)[None], sound.RATE)

    def describe(self) -> dict[str, Any]:
        return self.network.describe()


def cinegen_tiny_soundtrack(entry: ModelEntry, settings: Settings) -> CinegenTinySoundtrack:
    return CinegenTinySoundtrack(TinySoundtrack(settings.model_paths.get(AUDIO_ID)))
