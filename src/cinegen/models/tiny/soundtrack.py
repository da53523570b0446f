"""cinegen-tiny's soundtrack: finished frames in, stereo sound out.

1. ``audionet.prepare``: the frames to the network's 16 x 32 x 32 grid of clip time;
2. the network: per colour voice, amplitude, pan, height and knocks over the clip, and a
   timbre (``audionet.SoundNet``);
3. ``sound.synthesise`` plays them over exactly ``len(frames) / fps`` seconds.

The prompt is accepted, as every soundtrack's is, and not read: the sound follows what the
picture shows, also where the picture strays from the prompt. The seed draws the
oscillators' phases and the knocks' noise, so one seed gives one waveform.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import torch

from cinegen.models.tiny import audionet, sound


class TinySoundtrack:
    def __init__(self, directory: Path | None = None) -> None:
        self.net, self.record = audionet.load(directory)

    def controls(self, frames: np.ndarray) -> sound.Controls:
        """What the network hears in ``frames`` (F, H, W, 3) uint8, F >= 2."""
        if frames.ndim != 4 or frames.shape[-1] != 3 or len(frames) < 2:
            raise ValueError(f"frames must be (F >= 2, H, W, 3) uint8, got {frames.shape}")
        with torch.no_grad():
            steps, shapes = self.net(audionet.prepare(frames)[None])
        return audionet.to_controls(steps[0], shapes[0])

    def waveform(self, frames: np.ndarray, *, fps: float, seed: int) -> np.ndarray:
        """The sound of ``frames`` at ``fps``: (2, S) float32 in [-1, 1] at ``sound.RATE``."""
        samples = sound.synthesise(self.controls(frames), n_frames=len(frames), fps=fps, seed=seed)
        clipped: np.ndarray = np.clip(samples, -1, 1)
        return clipped

    def describe(self) -> dict[str, Any]:
        return {"soundtrack": "cinegen-tiny-audio", "weights_sha256": self.record.get("sha256")}
