"""Pyramid Flow's sampler: spatial-pyramid flow matching, autoregressive over latent frames.

As ``pyramid_dit/pyramid_dit_for_video_gen_pipeline.py`` (``generate``, ``generate_i2v``,
``generate_one_unit``) and ``diffusion_schedulers/scheduling_flow_matching.py`` of
jy0205/Pyramid-Flow (MIT) sample, with their defaults (3 stages, stage_range
[0, 1/3, 2/3, 1], gamma 1/3, shift 1, one latent frame per unit).

The math. A video's latents are made one latent frame (a "unit") at a time, oldest first.
Each unit runs S = 3 stages at 1/4, 1/2 and full resolution. Within stage s the sample moves
from its start point (ratio 1) to its end point (ratio 0) by Euler steps on the predicted
velocity v:

    x <- x + (r_{i+1} - r_i) v(x, t_i),   r = linspace(1, 0.001, n) then 0,

while the network is told the global timestep t_i = linspace(T_s, T_s', n) of the stage's
slice of the [1000, 0] trajectory. Between stages the sample is upsampled (nearest, 2x) and
renoised so its noise again matches stage s's start:

    x <- a * up(x) + b * n,   a = 1 / (sqrt(1 + 1/g) (1 - c) + c),   b = a (1 - c) / sqrt(g),

with c = 1 - sigma_start(s) the signal share at that point and n block noise: within each
2x2 block a Gaussian of covariance (1 + g) I - g 11^T (g = gamma), so the noise the
nearest-upsampling made blocky is undone on average. The first stage starts from
full-resolution Gaussian noise bilinearly downsampled twice, times 2 each time.

The history conditions each unit: frames made so far, as a pyramid (bilinear 1/2 and 1/4);
at stage s the newest frame at stage s's resolution, the one before at the next lower, and
the rest at the lowest; the network sees [history..., noisy unit] (``model.py``). Guidance is
classifier-free: ``guidance`` for the first frame, ``video_guidance`` for the others.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor

STAGES = 3
STAGE_RANGE = (0.0, 1 / 3, 2 / 3, 1.0)
GAMMA = 1 / 3
TRAIN_STEPS = 1000

# (clips oldest first, timestep (B,)) -> velocity of the last clip, guidance already applied.
Velocity = Callable[[list[Tensor], Tensor, bool], Tensor]


@dataclass(frozen=True)
class StageSchedule:
    """One stage's slice of the trajectory (``PyramidFlowMatchEulerDiscreteScheduler``)."""

    t_max: float  # the global timestep the stage starts at, in [0, 1000]
    t_min: float
    start_sigma: float  # the uncorrected noise share where the stage starts (renoise uses it)

    def timesteps(self, n: int) -> Tensor:
        return torch.linspace(self.t_max, self.t_min, n, dtype=torch.float64).float()

    @staticmethod
    def ratios(n: int) -> Tensor:
        """Stage-local interpolation ratios, n steps then 0: (n + 1,)."""
        last = 1.0 - 1.0 / TRAIN_STEPS  # sigmas_per_stage = linspace(1, 0, 1001)[:-1]
        ramp = torch.linspace(1.0, 1.0 - last, n, dtype=torch.float64).float()
        return torch.cat([ramp, torch.zeros(1)])


def schedule() -> list[StageSchedule]:
    """The three stages, as ``init_sigmas_for_each_stage`` computes them (shift 1)."""
    sigmas = [(TRAIN_STEPS - i) / TRAIN_STEPS for i in range(TRAIN_STEPS)]  # 1 .. 0.001
    starts, ends, raw = [], [], []
    for s in range(STAGES):
        a, b = int(STAGE_RANGE[s] * TRAIN_STEPS), int(STAGE_RANGE[s + 1] * TRAIN_STEPS)
        start, end = sigmas[a], sigmas[b] if b < TRAIN_STEPS else 0.0
        raw.append(start)
        if s > 0:  # the renoised start sits a little lower: its signal share is corrected
            signal = 1 - start
            start = 1 - signal / (math.sqrt(1 + 1 / GAMMA) * (1 - signal) + signal)
        starts.append(start)
        ends.append(end)
    distance = [a - b for a, b in zip(starts, ends, strict=True)]
    bounds = [sum(distance[:s]) / sum(distance) for s in range(STAGES)] + [1.0]
    timesteps = [sigma * TRAIN_STEPS for sigma in sigmas]
    out = []
    for s in range(STAGES):
        t_max = timesteps[int(bounds[s] * TRAIN_STEPS)]
        t_min = timesteps[min(int(bounds[s + 1] * TRAIN_STEPS), TRAIN_STEPS - 1)]
        # the stage's 1000 training timesteps are linspace(t_max, t_min, 1001)[:-1]
        last = t_max + (t_min - t_max) * (TRAIN_STEPS - 1) / TRAIN_STEPS
        out.append(StageSchedule(t_max=t_max, t_min=last, start_sigma=raw[s]))
    return out


def renoise_coefficients(start_sigma: float) -> tuple[float, float]:
    """(a, b) of x <- a up(x) + b n at a stage boundary."""
    signal = 1 - start_sigma
    a = 1 / (math.sqrt(1 + 1 / GAMMA) * (1 - signal) + signal)
    return a, a * (1 - signal) / math.sqrt(GAMMA)


def block_noise(shape: tuple[int, ...], generator: torch.Generator) -> Tensor:
    """(B, C, T, H, W) noise, correlated within each 2x2 block: cov (1+g) I - g 11^T.

    Trap: at g = 1/3 that covariance is singular (each block sums to zero), so no Cholesky
    factor exists; split a standard normal block z into its mean m and the rest instead:
    sqrt(1+g) (z - m) + sqrt(1-3g) m has exactly that covariance."""
    b, c, t, h, w = shape
    z = torch.randn(b, c, t, h // 2, w // 2, 4, generator=generator)
    mean = z.mean(dim=-1, keepdim=True)
    blocks = math.sqrt(1 + GAMMA) * (z - mean) + math.sqrt(max(1 - 3 * GAMMA, 0.0)) * mean
    blocks = blocks.reshape(b, c, t, h // 2, w // 2, 2, 2).permute(0, 1, 2, 3, 5, 4, 6)
    return blocks.reshape(b, c, t, h, w)  # (B, C, T, H, W)


def resize(x: Tensor, factor: float, mode: str) -> Tensor:
    """Resample each frame of (B, C, T, H, W) by ``factor`` in space."""
    b, c, t, h, w = x.shape
    frames = x.transpose(1, 2).reshape(b * t, c, h, w)
    size = (round(h * factor), round(w * factor))
    kwargs = {} if mode == "nearest" else {"align_corners": False}
    out = F.interpolate(frames, size=size, mode=mode, **kwargs)
    return out.reshape(b, t, c, *size).transpose(1, 2)


def initial_noise(shape: tuple[int, ...], generators: list[torch.Generator]) -> Tensor:
    """Full-size Gaussian latents (one generator per video), taken to the first stage's
    size: bilinear halving, times 2, twice. (B, C, T, H/4, W/4)."""
    noise = torch.cat([torch.randn(1, *shape[1:], generator=g) for g in generators])
    for _ in range(STAGES - 1):
        noise = resize(noise, 0.5, "bilinear") * 2
    return noise


def history(made: Tensor, unit: int) -> list[list[Tensor]]:
    """Per stage, the history clips of ``made`` (B, C, U, H, W), oldest first."""
    pyramid = [made]
    for _ in range(STAGES - 1):
        # Trap: halving twice is not a quarter in one go (bilinear reads 2, not 4, pixels).
        pyramid.insert(0, resize(pyramid[0], 0.5, "bilinear"))
    per_stage = []
    for s in range(STAGES):
        clips = [pyramid[s][:, :, -1:]]  # the newest frame at this stage's resolution
        level, back = s, 1
        while back < unit:
            level = max(level - 1, 0)
            if level == 0:
                break
            back += 1
            clips.append(pyramid[level][:, :, -back : -back + 1])
        if level == 0 and back < unit:
            clips.append(pyramid[0][:, :, :-back])  # everything older, at the lowest size
        per_stage.append(clips[::-1])
    return per_stage


def sample_unit(
    noise: Tensor,
    past: list[list[Tensor]],
    velocity: Velocity,
    *,
    steps: int,
    generators: list[torch.Generator],
    first: bool,
    on_step: Callable[[Tensor], None],
) -> Tensor:
    """One latent frame (or the first frame) through the three stages: (B, C, 1, H, W).
    ``on_step`` gets the sample after each step (at the stage's size)."""
    x = noise
    for s, stage in enumerate(schedule()):
        if s > 0:
            x = resize(x, 2, "nearest")
            a, b = renoise_coefficients(stage.start_sigma)
            n = torch.cat([block_noise((1, *x.shape[1:]), g) for g in generators])
            x = a * x + b * n.to(x)
        ratios = stage.ratios(steps)
        for i, t in enumerate(stage.timesteps(steps)):
            v = velocity([*past[s], x], t.expand(x.shape[0]).to(x), first)
            x = x + (ratios[i + 1] - ratios[i]).item() * v
            on_step(x)
    return x


def sample_video(
    *,
    shape: tuple[int, ...],
    velocity: Velocity,
    generators: list[torch.Generator],
    first_steps: int,
    video_steps: int,
    image: Tensor | None,
    device: torch.device,
    on_step: Callable[[Tensor], None],
) -> Tensor:
    """Latents (B, C, T, H, W) of ``shape``: frame 0 sampled (or ``image``'s latents
    given), then each later frame conditioned on those before it. ``on_step`` gets frame 0's
    latents as they stand after each step (final once frame 0 is made)."""
    noise = initial_noise(shape, generators).to(device)  # (B, C, T, H/4, W/4)
    made: list[Tensor] = [] if image is None else [image]
    for unit in range(len(made), shape[2]):
        # Trap (reference): image-to-video draws unit u's noise from frame u-1's.
        slot = unit - 1 if image is not None else unit
        past = history(torch.cat(made, dim=2), unit) if made else [[] for _ in range(STAGES)]
        frame = sample_unit(
            noise[:, :, slot : slot + 1],
            past,
            velocity,
            steps=video_steps if made else first_steps,
            generators=generators,
            first=not made,
            on_step=on_step if not made else _reporting(on_step, made[0]),
        )
        made.append(frame)
    return torch.cat(made, dim=2)


def _reporting(on_step: Callable[[Tensor], None], first: Tensor) -> Callable[[Tensor], None]:
    """``on_step`` told of the finished frame 0 whatever unit is being sampled."""
    return lambda _sample: on_step(first)


def total_steps(*, frames: int, first_steps: int, video_steps: int, image: bool) -> int:
    """Network calls (each guided pair counted once) a ``sample_video`` makes."""
    later = frames - 1
    return STAGES * ((0 if image else first_steps) + later * video_steps)
