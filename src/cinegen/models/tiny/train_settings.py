"""What every stage of ``cinegen train-tiny`` shares: ``TrainSettings``, the random streams
drawn from ``(seed, stage, step)`` alone (so that a run stopped and resumed anywhere ends
with the same weights as one that never stopped), the learning-rate schedule and the
pixel scaling. The stages are ``train_autoencoder.py`` and ``train.py``."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import Tensor

from cinegen.models.tiny.network import TinyConfig

Progress = Callable[[str, int, int, dict[str, float]], None]

STAGE_AE, STAGE_DATA, STAGE_DIT, STAGE_DETAIL = 1, 2, 3, 4  # random streams (kept as first used)


@dataclass(frozen=True)
class TrainSettings:
    workdir: Path
    seed: int = 0
    config: TinyConfig = field(default_factory=TinyConfig)
    ae_steps: int = 3000
    ae_batch: int = 64  # frames
    detail_steps: int = 1500
    clips: int = 32768  # encoded training clips
    dit_steps: int = 6000
    dit_batch: int = 64
    foreground_weight: float = 4.0  # transformer loss weight of object latents (1: uniform)
    time_shift: float = 1.0  # training flow times shifted to high noise (flow.sample_training_time)
    lr: float = 3e-4
    warmup: int = 200
    checkpoint_every: int = 200
    device: str = "cpu"
    compile: bool = False  # torch.compile the transformer (a minute to start, ~1.5x faster)
    threads: int | None = None
    # Continue from this bundle (``cinegen train-tiny --init-from``): its autoencoder and
    # latent statistics as they are (stages 1-2 skipped), its transformer trained on from
    # the step it stopped at to ``dit_steps``, with a fresh optimiser, warm-up and cosine.
    init_from: Path | None = None


def rng_for(seed: int, stage: int, step: int) -> np.random.Generator:
    """The numpy stream of one step of one stage: the same whatever ran before it."""
    return np.random.default_rng([seed, stage, step])


def torch_rng_for(seed: int, stage: int, step: int) -> torch.Generator:
    return torch.Generator().manual_seed(int(rng_for(seed, stage, step).integers(2**62)))


def noise_like(x: Tensor, seed: int, stage: int, step: int) -> Tensor:
    """Standard normal noise shaped like ``x``, drawn from ``(seed, stage, step)`` alone."""
    noise = torch.randn(x.shape, generator=torch_rng_for(seed, stage, step))
    return noise.to(device=x.device, dtype=x.dtype)


def to_unit(clips: np.ndarray) -> Tensor:
    """uint8 (..., H, W, 3) -> float (..., 3, H, W) in [-1, 1]."""
    x = torch.from_numpy(clips).float().div(127.5).sub(1)
    return x.movedim(-1, -3)


def autocast(device: str) -> Any:
    return torch.autocast(torch.device(device).type, dtype=torch.bfloat16)


def learning_rate(settings: TrainSettings, step: int, total: int, start: int = 0) -> float:
    """Linear warm-up to ``settings.lr`` from ``start`` (where a continued run begins), then
    a cosine down to a tenth of it at ``total``."""
    if step < start + settings.warmup:
        return settings.lr * (step - start + 1) / settings.warmup
    progress = (step - start - settings.warmup) / max(1, total - start - settings.warmup)
    return settings.lr * (0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * progress)))
