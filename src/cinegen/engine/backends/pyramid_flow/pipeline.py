"""Pyramid Flow end to end: prompt (and first frame) -> frames, from a checkpoint folder.

The folder is the published one (``rain1011/pyramid-flow-miniflux``, downloaded whole):

    causal_video_vae/               config.json, diffusion_pytorch_model.safetensors
    diffusion_transformer_384p/     config.json, diffusion_pytorch_model*.safetensors
    diffusion_transformer_768p/     (the same)
    text_encoder/ tokenizer/        CLIP-L
    text_encoder_2/ tokenizer_2/    T5-XXL

Constants from ``pyramid_dit/pyramid_dit_for_video_gen_pipeline.py`` of jy0205/Pyramid-Flow.
"""

# nn.Module calls are untyped to mypy: their results are Any.
# mypy: disable-error-code="no-any-return, no-untyped-call"

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from torch import Tensor

from cinegen.engine.backends.pyramid_flow import sampler
from cinegen.engine.backends.pyramid_flow.model import PyramidFluxTransformer, load_transformer
from cinegen.engine.backends.pyramid_flow.text import TextEncoders
from cinegen.engine.backends.pyramid_flow.vae import CausalVideoVAE, load_vae

# Latents the transformer sees are the VAE's, shifted and scaled; the first latent frame (a
# picture alone) by the miniflux image factors, the others by the video ones.
IMAGE_SHIFT, IMAGE_SCALE = -0.04, 1 / 1.8726
VIDEO_SHIFT, VIDEO_SCALE = -0.2343, 1 / 3.0986
DOWNSAMPLE = 8  # pixels per latent, in space and (after the first frame) in time
GRID = DOWNSAMPLE * 2 * 2 ** (sampler.STAGES - 1)  # sides: 1/4-size stage of 2x2 patches
# The reference appends this to every prompt "to improve aesthetics", and uses this
# negative prompt unless given one.
PROMPT_SUFFIX = ", hyper quality, Ultra HD, 8K"
DEFAULT_NEGATIVE = (
    "cartoon style, worst quality, low quality, blurry, absolute black, absolute white, low "
    "res, extra limbs, extra digits, misplaced objects, mutated anatomy, monochrome, horror"
)
# The transformer variants, smallest first, by the most pixels per frame each was trained
# for (the README: 640x384 up to 5 s, 1280x768 up to 10 s).
VARIANTS = (("diffusion_transformer_384p", 640 * 384), ("diffusion_transformer_768p", 1280 * 768))


@dataclass
class PyramidFlow:
    text: TextEncoders
    vae: CausalVideoVAE
    device: torch.device
    dtype: torch.dtype
    folder: Path | None = None  # where variants not yet loaded are read from
    transformers: dict[str, PyramidFluxTransformer] = field(default_factory=dict)

    @classmethod
    def load(cls, folder: Path, device: torch.device, dtype: torch.dtype) -> PyramidFlow:
        """Text encoders and VAE now; each transformer variant when first asked for."""
        text = TextEncoders.load(folder, dtype).to(device)
        vae = load_vae(folder / "causal_video_vae", dtype).to(device)
        return cls(text=text, vae=vae, device=device, dtype=dtype, folder=folder)

    def variant(self, width: int, height: int) -> str:
        """The smallest variant made for this many pixels, among those present."""
        present = [(name, area) for name, area in VARIANTS if self._has(name)]
        if not present:
            raise FileNotFoundError(f"no diffusion_transformer_384p or _768p in {self.folder}")
        fits = [name for name, area in present if width * height <= area]
        return fits[0] if fits else present[-1][0]

    def _has(self, name: str) -> bool:
        on_disk = self.folder is not None and (self.folder / name / "config.json").exists()
        return name in self.transformers or on_disk

    def transformer(self, name: str) -> PyramidFluxTransformer:
        if name not in self.transformers:
            assert self.folder is not None
            self.transformers[name] = load_transformer(self.folder / name, self.dtype).to(
                self.device
            )
        return self.transformers[name]

    @torch.inference_mode()
    def generate(
        self,
        *,
        prompt: str,
        negative: str,
        width: int,
        height: int,
        frames: int,
        seeds: list[int],
        steps: tuple[int, int],
        guidance: tuple[float, float],
        image: np.ndarray | None = None,
        on_step: Callable[[Tensor], None] = lambda first_frame: None,
    ) -> np.ndarray:
        """-> (V, frames, height, width, 3) float32 in [0, 1]. ``steps`` and ``guidance``:
        (first frame, later frames); ``image`` (height, width, 3) uint8 is frame 0.
        ``on_step`` gets frame 0's latents after each step (for ``preview``)."""
        # 1. check inputs
        if width % GRID or height % GRID:
            raise ValueError(f"width and height must be multiples of {GRID}, got {width}x{height}")
        if (frames - 1) % DOWNSAMPLE:
            raise ValueError(f"frames must be 8k+1, got {frames}")
        # 2. the network and the prompts, negative first (classifier-free guidance)
        dit = self.transformer(self.variant(width, height))
        n = len(seeds)
        states, mask, pooled = self.text([negative] * n + [prompt + PROMPT_SUFFIX] * n)
        generators = [torch.Generator("cpu").manual_seed(s) for s in seeds]

        def velocity(clips: list[Tensor], t: Tensor, first: bool) -> Tensor:
            doubled = [torch.cat([c, c]).to(self.dtype) for c in clips]
            # The reference hands the timestep over in the model's dtype (bf16 rounds 914.75
            # to 916); so do we. The latents themselves stay float32 between steps here.
            timestep = torch.cat([t, t]).to(self.dtype)
            out = dit(doubled, timestep=timestep, text=states, text_mask=mask, pooled=pooled)
            out = out.float()
            uncond, cond = out.chunk(2)
            return uncond + guidance[0 if first else 1] * (cond - uncond)

        # 3. the first frame's latents, when given
        latent_size = (height // DOWNSAMPLE, width // DOWNSAMPLE)
        given = None if image is None else self._encode(image, generators)
        # 4. sample, one latent frame after another
        latents = sampler.sample_video(
            shape=(
                n,
                self.vae.config.encoder_out_channels,
                (frames - 1) // DOWNSAMPLE + 1,
                *latent_size,
            ),
            velocity=velocity,
            generators=generators,
            first_steps=steps[0],
            video_steps=steps[1],
            image=given,
            device=self.device,
            on_step=on_step,
        )
        # 5. decode
        return self.decode(latents)

    @torch.inference_mode()
    def _encode(self, image: np.ndarray, generators: list[torch.Generator]) -> Tensor:
        """(H, W, 3) uint8 -> the first frame's latents for each video, (V, C, 1, h, w)."""
        pixels = torch.from_numpy(image).permute(2, 0, 1)[None, :, None]  # (1, 3, 1, H, W)
        pixels = (pixels.float() / 127.5 - 1).to(self.device, self.dtype)
        z = torch.cat([self.vae.encode(pixels, g) for g in generators])  # (V, C, 1, h, w)
        return ((z.float() - IMAGE_SHIFT) * IMAGE_SCALE).to(self.device)

    @torch.inference_mode()
    def preview(self, first_frame: Tensor, size: tuple[int, int]) -> np.ndarray:
        """The first video's frame 0 from its latents as they stand (B, C, 1, h', w'), at
        a lower stage's size or the full ``size`` (h, w): (8h, 8w, 3) uint8. The VAE is
        causal, so frame 0 decodes alone, exactly as it will in the video."""
        latent = first_frame[:1].float()
        if latent.shape[-2:] != size:
            latent = sampler.resize(latent, size[0] / latent.shape[-2], "nearest")
        frame = self.decode(latent)[0, 0]
        return np.round(frame * 255).astype(np.uint8)

    @torch.inference_mode()
    def decode(self, latents: Tensor) -> np.ndarray:
        """Sampler latents (V, C, T, h, w) -> (V, 8(T-1)+1, 8h, 8w, 3) float32 in [0, 1]."""
        z = torch.cat(
            [
                latents[:, :, :1] / IMAGE_SCALE + IMAGE_SHIFT,
                latents[:, :, 1:] / VIDEO_SCALE + VIDEO_SHIFT,
            ],
            dim=2,
        )
        video = self.vae.decode(z.to(self.dtype))  # (V, 3, F, H, W) in [-1, 1]
        frames = ((video.float() + 1) / 2).clamp(0, 1).permute(0, 2, 3, 4, 1)
        return frames.cpu().numpy()
