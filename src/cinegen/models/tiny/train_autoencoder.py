"""Stages 1 and 2 of ``cinegen train-tiny`` (``train.py``): the autoencoder on single
toy-world frames, then its decoder again with the ``detail`` image and gate, the encoder
(and so every latent) left as stage 1 made it. Both resume from their checkpoint."""

from __future__ import annotations

import numpy as np
import torch
from torch import Tensor, nn

from cinegen.models.tiny.checkpoint import Checkpoint
from cinegen.models.tiny.network import AutoEncoder, TinyConfig
from cinegen.models.tiny.toyworld import background_image, render_clip, sample_scene
from cinegen.models.tiny.train_settings import (
    STAGE_AE,
    STAGE_DETAIL,
    Progress,
    TrainSettings,
    autocast,
    learning_rate,
    noise_like,
    rng_for,
    to_unit,
)
from cinegen.models.tiny.vocab import Background

FOREGROUND_WEIGHT = 10.0  # autoencoder: object pixels' share of the L1 loss
DETAIL_LR = (1 / 3, 30.0)  # detail stage: (decoder, detail image and gate) x the base rate


# --- stage 1: autoencoder ------------------------------------------------------------------
def ae_batch(
    seed: int, step: int, frames: int, config: TinyConfig, stage: int = STAGE_AE
) -> tuple[Tensor, Tensor]:
    """``frames`` toy-world frames (N, 3, H, W) in [-1, 1] and their per-pixel loss weights:
    ``FOREGROUND_WEIGHT`` on objects, and in the detail stage on visible background detail."""
    rng = rng_for(seed, stage, step)
    per_clip = 4
    scenes = [sample_scene(rng) for _ in range(max(1, frames // per_clip))]
    images, weights = [], []
    for scene in scenes:
        clip = render_clip(scene, config.frames, config.size)
        picked = clip[rng.choice(config.frames, per_clip, replace=False)]
        backdrop = background_image(scene.background, config.size)
        differs = np.abs(picked.astype(np.float32) - backdrop).max(axis=-1) > 8
        if stage == STAGE_DETAIL:
            differs |= background_detail(scene.background, config.size)
        images.append(picked)
        weights.append(1 + (FOREGROUND_WEIGHT - 1) * differs)
    x = to_unit(np.concatenate(images))
    w = torch.from_numpy(np.concatenate(weights)).float()[:, None]
    return x, w


def background_detail(background: Background, size: int) -> np.ndarray:
    """(size, size) bool: where a backdrop differs from its row's colour (the night's stars)."""
    image = background_image(background, size)
    detail: np.ndarray = np.abs(image - np.median(image, axis=1, keepdims=True)).max(axis=-1) > 8
    return detail


def train_autoencoder(settings: TrainSettings, progress: Progress) -> AutoEncoder:
    ae = AutoEncoder(settings.config).to(settings.device)
    plain = [*ae.encoder.parameters(), *ae.decoder.parameters()]  # detail stays zero here
    _fit(settings, ae, [(plain, 1.0)], STAGE_AE, settings.ae_steps, progress)
    return ae.eval()


def _fit(
    settings: TrainSettings,
    ae: AutoEncoder,
    groups: list[tuple[list[nn.Parameter], float]],
    stage: int,
    total: int,
    progress: Progress,
) -> None:
    """Train ``ae``'s parameters in ``groups`` (each with its multiple of the learning rate)
    to ``total`` steps of L1 on ``ae_batch`` frames, resuming from the stage's checkpoint."""
    name = {STAGE_AE: "autoencoder", STAGE_DETAIL: "detail"}[stage]
    opt = torch.optim.AdamW([{"params": p} for p, _ in groups], lr=settings.lr, weight_decay=0.0)
    checkpoint = Checkpoint(
        settings.workdir / f"{name}.pt", opt, every=settings.checkpoint_every, model=ae
    )
    step = checkpoint.resume(settings.device)["step"]
    while step < total:
        for group, (_, scale) in zip(opt.param_groups, groups, strict=True):
            group["lr"] = learning_rate(settings, step, total) * scale
        x, w = ae_batch(settings.seed, step, settings.ae_batch, settings.config, stage)
        x, w = x.to(settings.device), w.to(settings.device)
        with autocast(settings.device):
            z = ae.encode(x)
            noise = noise_like(z, settings.seed, stage, step)
            y = ae.decode(z + 0.05 * z.detach().std() * noise)
        loss = ((y.float() - x).abs() * w).mean() / w.mean() + 1e-4 * z.float().pow(2).mean()
        opt.zero_grad(set_to_none=True)
        loss.backward()  # type: ignore[no-untyped-call]
        opt.step()
        step += 1
        progress(name, step, total, {"loss": loss.item()})
        checkpoint.save_if_due(step, total)


# --- stage 2: detail -----------------------------------------------------------------------
def train_detail(settings: TrainSettings, ae: AutoEncoder, progress: Progress) -> AutoEncoder:
    """The decoder again with its ``detail`` image and gate; the encoder (and so every latent)
    stays as stage 1 left it."""
    ae.requires_grad_(False)
    decoder = [*ae.decoder.parameters()]
    detail = [ae.detail, *ae.detail_gate.parameters()]
    for p in decoder + detail:
        p.requires_grad_(True)
    groups = [(decoder, DETAIL_LR[0]), (detail, DETAIL_LR[1])]
    _fit(settings, ae, groups, STAGE_DETAIL, settings.detail_steps, progress)
    return ae.requires_grad_(False).eval()
