"""Memory tiers: what a model needs on the device under each way of placing it, and which
way fits the memory a device has free (``CINEGEN_MEMORY``).

The tiers, most memory (and fastest) first:

- ``full``: every component resident on the device.
- ``model``: diffusers' model CPU offload — one whole component (text encoder, transformer,
  VAE) on the device at a time.
- ``group``: diffusers' group offloading — transformer blocks move to the device a group at
  a time, the next group's copy overlapping the current group's work on a CUDA stream.
- ``sequential``: diffusers' sequential CPU offload — one layer's weights at a time.

Needs are computed from data (``footprints.py``: published parameter counts), not
measured at run time. Weights are exact to the published counts; activations and the VAE
decode are ESTIMATES, documented at ``step_bytes`` and ``decode_bytes``; ``HEADROOM`` covers
what they miss. Pure: no torch at import (``free_bytes`` imports it when called).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

from cinegen.footprints import Footprint
from cinegen.registry import ModelEntry

Tier = Literal["full", "model", "group", "sequential"]
TIERS: tuple[Tier, ...] = ("full", "model", "group", "sequential")
Quantize = Literal["none", "int8", "fp8"]
GiB = 1024**3
# Bytes per transformer weight under weight-only quantization (scales are a rounding error).
QUANTIZED_BYTES = {"int8": 1, "fp8": 1}
# Part of the free memory a tier may plan to fill: the CUDA context, the allocator's
# fragmentation and the estimates' error take the rest.
HEADROOM = 0.9
# Live tensors per token and hidden unit inside one transformer block at inference: the
# residual stream and its normed copy (2), q, k, v and the attention output (4), the MLP's
# 4x-wide hidden and its activation (8), modulated copies (2). Attention scores are never
# held whole (SDPA's fused kernels), and no block's activations outlive it (no gradients).
LIVE_PER_TOKEN = 16
# The VAE decoder's last stage (``Footprint.decode_width`` channels per output pixel) holds
# its input, its output and a residual at once.
DECODE_LIVE = 3


@dataclass(frozen=True)
class Need:
    """Bytes on the device, per part, for one model at one dtype."""

    transformer: int
    text_encoder: int
    vae: int  # the video VAE, with the audio VAE and vocoder
    other: int
    block: int  # one transformer block's weights
    layer: int  # the largest single layer (sequential offload moves one at a time)
    step: int  # activations of one denoising step at the native grid (estimate)
    decode: int  # the VAE decode of the native clip, untiled (estimate)
    decode_tiled: int  # the same decode in tiles (estimate)

    @property
    def weights(self) -> int:
        return self.transformer + self.text_encoder + self.vae + self.other

    def on_device(self, tier: Tier, *, tiled: bool, blocks_per_group: int = 1) -> int:
        """Peak bytes on the device under ``tier``. Denoising and decoding never overlap:
        the peak is the larger of the two phases (text encoding is the smallest)."""
        decode = self.decode_tiled if tiled else self.decode
        if tier == "full":
            return self.weights + max(self.step, decode)
        if tier == "model":
            return max(self.transformer + self.step, self.text_encoder, self.vae + decode)
        if tier == "group":
            # Two groups resident: the one running and the next one arriving on the stream.
            return max(2 * blocks_per_group * self.block + self.step, self.vae + decode)
        return max(self.layer + self.step, decode)


def need(entry: ModelEntry, *, dtype_bytes: int = 2, quantize: Quantize = "none") -> Need | None:
    """What ``entry`` needs at its native grid, or None where its footprint is unknown."""
    fp = entry.footprint
    if fp is None:
        return None
    weight = QUANTIZED_BYTES.get(quantize, dtype_bytes)
    transformer = int(fp.transformer * weight)
    block = transformer // fp.blocks
    return Need(
        transformer=transformer,
        text_encoder=int(fp.text_encoder * dtype_bytes),
        vae=int((fp.vae + fp.audio) * dtype_bytes),
        other=int(fp.other * dtype_bytes),
        block=block,
        layer=min(block, 4 * fp.hidden**2 * weight),  # the MLP's widening projection
        step=step_bytes(entry, fp, dtype_bytes),
        decode=decode_bytes(entry, fp, dtype_bytes, tiled=False),
        decode_tiled=decode_bytes(entry, fp, dtype_bytes, tiled=True),
    )


def native_clip(entry: ModelEntry) -> tuple[int, int]:
    """(frames, pixels per frame) of the longest, largest native clip."""
    caps = entry.capabilities
    frames = caps.fixed_frames or caps.max_frames
    area = caps.fixed_size[0] * caps.fixed_size[1] if caps.fixed_size else caps.max_area
    return frames, area


def step_bytes(entry: ModelEntry, fp: Footprint, dtype_bytes: int) -> int:
    """Estimate: latents per step x tokens x hidden x ``LIVE_PER_TOKEN`` x dtype bytes,
    tokens = latent frames x (area / pixels per token), the frames of one pass
    (``Footprint.step_frames``). Text tokens (a few hundred) and the sound's tokens are left
    out."""
    frames, area = native_clip(entry)
    frames = min(frames, fp.step_frames or frames)
    t, h, w = fp.compression
    tokens = ((frames - 1) // t + 1) * math.ceil(area / (h * w))
    return fp.guidance_batch * tokens * fp.hidden * LIVE_PER_TOKEN * dtype_bytes


def decode_bytes(entry: ModelEntry, fp: Footprint, dtype_bytes: int, *, tiled: bool) -> int:
    """Estimate: frames decoded at once x pixels x ``decode_width`` x ``DECODE_LIVE`` x
    dtype bytes; tiled, the frames and pixels of one ``Footprint.tile`` at most."""
    frames, area = native_clip(entry)
    at_once = min(frames, fp.decode_frames or frames)
    if tiled:
        tile_frames, tile_height, tile_width = fp.tile
        at_once = min(at_once, tile_frames or at_once)
        area = min(area, tile_height * tile_width)
    return at_once * area * fp.decode_width * DECODE_LIVE * dtype_bytes


@dataclass(frozen=True)
class Choice:
    """Where a model's weights live while it renders, and why."""

    tier: Tier
    vae_tiling: bool
    blocks_per_group: int = 1  # group tier: transformer blocks moved together
    reason: str = ""


def choose(
    need: Need | None,
    *,
    free: int | None,
    device: str,
    tier: Tier | Literal["auto"] = "auto",
    vae_tiling: bool | Literal["auto"] = "auto",
) -> Choice:
    """The tier for a model needing ``need`` on a ``device`` ("cuda", "cpu", …) with ``free``
    bytes (None: unknown). ``tier`` and ``vae_tiling`` force what they name; "auto" takes
    the first tier of ``TIERS`` that fits, untiled before tiled, and a group as large as fits.
    """
    forced_tiling = None if vae_tiling == "auto" else bool(vae_tiling)
    if device == "cpu":
        return Choice("full", bool(forced_tiling), reason="CPU: the weights stay in memory")
    if need is None or free is None:
        why = "the model's need is unknown" if need is None else "free memory is unknown"
        return Choice(
            "full" if tier == "auto" else tier, bool(forced_tiling), reason=f"{why}: as asked"
        )
    budget = int(free * HEADROOM)
    tiers = TIERS if tier == "auto" else (tier,)
    tilings = (False, True) if forced_tiling is None else (forced_tiling,)
    for candidate in tiers:
        for tiled in tilings:
            if need.on_device(candidate, tiled=tiled) <= budget:
                return _sized(need, candidate, tiled, budget, f"fits {free / GiB:.1f} GiB free")
    last = tiers[-1]
    tiled = True if forced_tiling is None else forced_tiling
    return _sized(need, last, tiled, budget, f"needs more than the {free / GiB:.1f} GiB free")


def _sized(need: Need, tier: Tier, tiled: bool, budget: int, reason: str) -> Choice:
    """``tier`` with the largest block group that fits ``budget`` (at least one)."""
    groups = 1
    if tier == "group" and need.block:
        room = budget - need.step
        groups = max(1, room // (2 * need.block))
        groups = min(groups, max(1, need.transformer // need.block))
    return Choice(tier, tiled, blocks_per_group=int(groups), reason=reason)


def free_bytes(device: str) -> int | None:
    """Bytes free on a device now, or None where torch cannot say (CPU: RAM is not planned)."""
    import torch

    if device.startswith("cuda") and torch.cuda.is_available():
        free, _total = torch.cuda.mem_get_info(torch.device(device))
        return int(free)
    if device == "mps" and torch.backends.mps.is_available():
        return int(torch.mps.recommended_max_memory() - torch.mps.current_allocated_memory())
    return None


def held_bytes(device: str) -> int:
    """Bytes this process holds on a device (torch's cache included): what it could give a
    task by dropping its models, beside ``free_bytes``."""
    import torch

    if device.startswith("cuda") and torch.cuda.is_available():
        return int(torch.cuda.memory_reserved(torch.device(device)))
    if device == "mps" and torch.backends.mps.is_available():
        return int(torch.mps.current_allocated_memory())
    return 0


def tier_table(
    entry: ModelEntry, *, dtype_bytes: int = 2, quantize: Quantize = "none"
) -> dict[str, str]:
    """``entry``'s need per tier in GiB, as `cinegen models --memory` and the README show
    it: each tier with the VAE tiled where that helps, then the decode alone both ways;
    "?" where the footprint is unknown."""
    found = need(entry, dtype_bytes=dtype_bytes, quantize=quantize)
    columns = [*TIERS, "decode", "decode tiled"]
    if found is None:
        return dict.fromkeys(columns, "?")
    cells: dict[str, str] = {t: _gib(found.on_device(t, tiled=True)) for t in TIERS}
    return {**cells, "decode": _gib(found.decode), "decode tiled": _gib(found.decode_tiled)}


def _gib(n: int) -> str:
    return f"{n / GiB:.1f}"
