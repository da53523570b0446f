"""cinegen-tiny end to end: prompts and seeds -> 64x64, 16-frame clips.

``TinyPipeline`` joins the parts: the MiniLM text encoder, the flow sampler over the
transformer, and the autoencoder that turns latents back into pixels. Each clip's noise
comes from its own seed, so a variant depends on its seed and prompt, not on which other
variants share the batch. A first frame, when given, is encoded and held fixed while the
rest of the clip is sampled around it (image-to-video); more generally ``Keep`` holds any
given pixels of any frames (extension, inpainting), and ``source`` starts the sampler from
a noised existing clip instead of pure noise (remix). A held frame the pipeline drew itself
(a long video's next window holds the last frame of the one before) is held as the latent
it was drawn from (``DrawnFrames``), not re-encoded.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor

from cinegen.media.keep import Keep
from cinegen.models.tiny.flow import Condition, SamplerSettings, sample
from cinegen.models.tiny.text import TextEncoder, shared_encoder
from cinegen.models.tiny.weights import TinyModel, load

# Guidance on held latents (``flow.SamplerSettings.hold_guidance``, see ``flow``). Measured
# by ``bench/operations.py``: 4 just misses its seam targets (storyboard 1.50x at worst, loop
# 1.01x on average), 8 does no better than 6. The prompt's attributes are read back as often
# as without it (99% vs 100% of 96 on 24 scenes). Its price: a held picture from outside the
# toy world (a photo, two flat halves) carries on larger into the frames after it, blobs
# that NudeNet can misread (README, output moderation); and a third row of transformer work
# for the first half of a conditioned render's steps.
HOLD_GUIDANCE = 6.0


class DrawnFrames:
    """The latents of the frames the pipeline drew in this generation's calls so far, so
    that a held frame it drew itself (each window of a long video holds the last frame of
    the one before) is held as the latent it was drawn from, not re-encoded from its pixels.
    Trap: the autoencoder's round trip is not neutral: it grows an object's area about 15%
    each time (a toy-world spinning square: 0.062 -> 0.088 -> 0.098 -> 0.113 of the
    frame), which compounded window after window and showed at every seam. Only frames of
    the calls since one without ``continues`` count: no clip depends on what an earlier
    generation drew."""

    # Mean absolute difference (0-255), over the pixels held, within which a held frame is
    # one the pipeline drew: the engine hands frames back rounded to 8 bits and resized to
    # the output and back (0.7 at 480x480). A latent that decodes that near a frame holds it
    # better than its re-encoding, even were it another frame of a still clip.
    TOLERANCE = 1.0
    MIN_HELD = 0.5  # held pixels to compare at least (a share of the frame)

    def __init__(self, capacity: int = 64) -> None:
        self._frames: deque[tuple[np.ndarray, Tensor]] = deque(maxlen=capacity)

    def remember(self, clips: np.ndarray, latents: Tensor) -> None:
        """``clips`` (B, F, size, size, 3) in [0, 1] drawn from ``latents`` (B, F, C, h, w)."""
        pixels = np.round(clips * 255).astype(np.int16)
        for b in range(len(clips)):
            for f in range(clips.shape[1]):
                self._frames.append((pixels[b, f], latents[b, f].clone()))

    def forget(self) -> None:
        self._frames.clear()

    def find(self, frame: np.ndarray, held: np.ndarray) -> Tensor | None:
        """The latent a (size, size, 3) uint8 frame was drawn from, if drawn lately, judged
        on its ``held`` (size, size) pixels."""
        if held.mean() < self.MIN_HELD:
            return None
        given = frame[held].astype(np.int16)
        near = (z for pixels, z in reversed(self._frames) if _near(pixels[held], given))
        return next(near, None)


class TinyPipeline:
    def __init__(
        self, model: TinyModel, encoder: TextEncoder, device: str = "cpu", autocast: bool = True
    ) -> None:
        self.model = model.to(device)
        self.encoder = encoder
        self.device = torch.device(device)
        # bfloat16 matmuls: several times faster on CPUs with AMX or AVX512-BF16, and on GPUs.
        self.autocast = autocast
        self.drawn = DrawnFrames()

    @classmethod
    def load(cls, directory: Path | None = None, device: str = "cpu") -> TinyPipeline:
        """The bundle in ``directory`` (default: the one shipped with cinegen)."""
        return cls(load(directory), shared_encoder(device), device)

    @property
    def frames(self) -> int:
        return self.model.config.frames

    @property
    def size(self) -> int:
        return self.model.config.size

    @torch.no_grad()
    def __call__(
        self,
        prompt: str | Sequence[str],
        seeds: Sequence[int],
        *,
        steps: int,
        guidance: float,
        shift: float = 1.0,
        first_frame: np.ndarray | None = None,
        keep: Keep | None = None,
        continues: bool = False,
        source: np.ndarray | None = None,
        strength: float = 1.0,
        on_step: Callable[[Tensor], None] = lambda estimate: None,
    ) -> np.ndarray:
        """One clip per seed -> (len(seeds), frames, size, size, 3) float32 in [0, 1].

        ``prompt`` is one prompt for every seed or one per seed. ``first_frame`` is a
        (size, size, 3) uint8 image every clip starts from (shorthand for a ``keep`` of
        frame 0). ``source`` is a (frames, size, size, 3) uint8 clip to remix: sampling
        starts from it noised to ``strength`` (1: ignore it, 0: return it unchanged).
        ``on_step`` runs after each sampler step (``steps``, or ``ceil(steps * strength)``,
        at least 1, with a ``source``) with the latents sampling is heading for (B, F, C,
        h, w); ``decode`` turns them into a preview. With ``continues`` the held frames this
        pipeline drew since the last call without it are held as drawn (``DrawnFrames``); a
        call without it starts afresh, so that no clip depends on what was rendered before.
        """
        prompts = [prompt] * len(seeds) if isinstance(prompt, str) else list(prompt)
        if len(prompts) != len(seeds):
            raise ValueError(f"got {len(prompts)} prompts for {len(seeds)} seeds")
        if first_frame is not None:
            if keep is not None:
                raise ValueError("give first_frame or keep, not both")
            self._check_frames("first_frame", first_frame[None])
            keep = Keep.first_frame(first_frame, self.frames)
        if not 0.0 <= strength <= 1.0:
            raise ValueError(f"strength must be in [0, 1], got {strength}")
        cfg = self.model.config
        shape = (cfg.frames, cfg.latent_channels, cfg.latent_size, cfg.latent_size)
        noise = torch.stack([_noise(shape, seed) for seed in seeds]).to(self.device)
        if not continues:
            self.drawn.forget()
        condition = self._condition(keep, len(seeds)) if keep is not None else None
        start, start_from = 1.0, None
        if source is not None:
            start = strength
            self._check_frames("source", source, self.frames)
            start_from = self.encode(source)[None].expand(len(seeds), -1, -1, -1, -1)
        latents = sample(
            self.model.transformer,
            noise,
            self.encoder(prompts),
            self.encoder([""]),
            SamplerSettings(
                steps=self.sampler_steps(steps, start),
                guidance=guidance,
                start=start,
                hold_guidance=HOLD_GUIDANCE,
                shift=shift,
            ),
            condition=condition,
            source=start_from,
            on_step=on_step,
            autocast=self.autocast,
        )
        clips = self.decode(latents)
        self.drawn.remember(clips, latents)
        if keep is not None:  # the decoder blurs across cells: put the given pixels back
            given = keep.frames.astype(np.float32) / 255
            clips = np.where(keep.mask[None, ..., None], given[None], clips)
        return clips

    @staticmethod
    def sampler_steps(steps: int, strength: float = 1.0) -> int:
        """Steps actually taken: a remix starting at ``strength`` walks that part of the way."""
        return max(1, math.ceil(steps * strength))

    def encode(self, frames: np.ndarray) -> Tensor:
        """(F, size, size, 3) uint8 -> normalised latents (F, C, h, w)."""
        x = torch.from_numpy(np.ascontiguousarray(frames)).to(self.device)
        x = x.permute(0, 3, 1, 2).float().div(127.5).sub(1)
        z = self.model.autoencoder.encode(x).float()
        return (z - self._mean) / self._std

    def decode(self, latents: Tensor) -> np.ndarray:
        """Normalised latents (B, F, C, h, w) -> (B, F, size, size, 3) float32 in [0, 1]."""
        b, f = latents.shape[:2]
        z = latents.flatten(0, 1) * self._std + self._mean
        x = self.model.autoencoder.decode(z).float().clamp(-1, 1).add(1).div(2)
        x = x.view(b, f, *x.shape[1:]).permute(0, 1, 3, 4, 2)
        return x.cpu().numpy().astype(np.float32, copy=False)

    def _condition(self, keep: Keep, batch: int) -> Condition:
        """Latent cells to hold: those whose every pixel is kept (a cell that touches the
        region to regenerate is regenerated whole, so no stale edge survives)."""
        self._check_frames("keep.frames", keep.frames, self.frames)
        if keep.mask.shape != keep.frames.shape[:3]:
            raise ValueError(f"keep.mask must be {keep.frames.shape[:3]}, got {keep.mask.shape}")
        cfg = self.model.config
        down = cfg.latent_down
        cells = torch.from_numpy(np.ascontiguousarray(keep.mask)).to(self.device).float()
        cells = -F.max_pool2d(-cells[:, None], down)  # (F, 1, h, w): 1 where all kept
        known = self.encode(keep.frames)
        for f in np.flatnonzero(keep.mask.any(axis=(1, 2))):
            if (drawn := self.drawn.find(keep.frames[f], keep.mask[f])) is not None:
                known[f] = drawn  # a frame it drew: held as drawn (``DrawnFrames``)
        known = known * cells
        return Condition(
            known[None].expand(batch, -1, -1, -1, -1), cells[None].expand(batch, -1, -1, -1, -1)
        )

    def _check_frames(self, name: str, frames: np.ndarray, n: int | None = None) -> None:
        size = self.size
        want = (n if n is not None else frames.shape[0], size, size, 3)
        if frames.shape != want or frames.dtype != np.uint8:
            raise ValueError(f"{name} must be {want} uint8, got {frames.shape} {frames.dtype}")

    @property
    def _mean(self) -> Tensor:
        return self.model.latent_mean.view(-1, 1, 1)

    @property
    def _std(self) -> Tensor:
        return self.model.latent_std.view(-1, 1, 1)


def _near(drawn: np.ndarray, given: np.ndarray) -> bool:
    return float(np.abs(drawn - given).mean()) <= DrawnFrames.TOLERANCE


def _noise(shape: tuple[int, ...], seed: int) -> Tensor:
    """Standard normal noise from ``seed`` alone, the same on every device."""
    return torch.randn(shape, generator=torch.Generator().manual_seed(seed))
