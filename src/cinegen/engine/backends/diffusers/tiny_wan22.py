"""The tiny twins of Wan 2.2: the A14B pair of experts (text or image to video) and TI2V-5B.

Configs follow diffusers' ``tests/pipelines/wan/test_wan_22*.py`` (``get_dummy_components``)
with ``tiny_text``'s tokenizer and UMT5 in place of the hub's:
- A14B: ``transformer`` (high noise) and ``transformer_2`` (low noise) switch at the
  pipeline's ``boundary_ratio`` of the schedule, the real checkpoints' (0.875 for text,
  0.9 for image to video). Image to video has no CLIP image encoder in 2.2: the image
  reaches the experts only as latents beside the noise (16 + 16 + 4 mask channels).
- TI2V-5B: one transformer for text and a first frame, ``expand_timesteps`` (the image's
  latent frame stays clean, its tokens' timestep 0), and a VAE that compresses 16x: 8x in
  its blocks, 2x more by folding 2x2 pixels into channels (``patch_size``), z_dim 48.
"""

# diffusers' constructors are untyped.
# mypy: disable-error-code="no-untyped-call"

from __future__ import annotations

from diffusers import (
    AutoencoderKLWan,
    UniPCMultistepScheduler,
    WanImageToVideoPipeline,
    WanPipeline,
)
from diffusers.pipelines.pipeline_utils import DiffusionPipeline

from cinegen.engine.backends.diffusers import tiny_text
from cinegen.engine.backends.diffusers.tiny_pipelines import assemble, wan_transformer, wan_vae

# The real checkpoints' boundaries (their model_index.json; diffusers' modular Wan 2.2 blocks
# default to 0.875).
BOUNDARY_RATIO = {"t2v": 0.875, "i2v": 0.9}
TI2V_LATENT_CHANNELS = 48


def _scheduler() -> UniPCMultistepScheduler:
    # UniPC in flow mode, as the Wan 2.2 checkpoints ship it. Shift 3 (diffusers' tests; the
    # checkpoints shift more) keeps the boundary inside even a 2-step schedule, so both
    # experts run in every twin render: timesteps 1000, 750 for two steps.
    return UniPCMultistepScheduler(
        prediction_type="flow_prediction", use_flow_sigmas=True, flow_shift=3.0
    )


def build_wan22(task: str) -> DiffusionPipeline:
    """Wan 2.2 A14B: two experts of the same shape, a boundary between them."""
    in_channels = 16 + 16 + 4 if task == "i2v" else 16  # noise (+ image latents + mask)
    return assemble(
        WanImageToVideoPipeline if task == "i2v" else WanPipeline,
        transformer=wan_transformer(in_channels),
        transformer_2=wan_transformer(in_channels),
        boundary_ratio=BOUNDARY_RATIO[task],
        vae=wan_vae(),
        scheduler=_scheduler(),
        text_encoder=tiny_text.t5(umt5=True),
        tokenizer=tiny_text.tokenizer(512),
    )


def _ti2v_vae() -> AutoencoderKLWan:
    """Wan 2.2's autoencoder at its thinnest: 2x2 pixels folded into 12 channels, then
    Wan's 8x spatial, 4x temporal blocks (with residual shortcuts)."""
    return AutoencoderKLWan(
        base_dim=3,
        z_dim=TI2V_LATENT_CHANNELS,
        in_channels=12,  # 3 colours x 2 x 2
        out_channels=12,
        is_residual=True,
        patch_size=2,
        # The real VAE's statistics are per channel; zero and one keep the twin's neutral.
        latents_mean=[0.0] * TI2V_LATENT_CHANNELS,
        latents_std=[1.0] * TI2V_LATENT_CHANNELS,
        dim_mult=[1, 1, 1, 1],
        num_res_blocks=1,
        scale_factor_spatial=16,
        scale_factor_temporal=4,
        temperal_downsample=[False, True, True],  # [sic] diffusers' spelling
    )


def build_wan22_ti2v(task: str) -> DiffusionPipeline:
    """Wan 2.2 TI2V-5B: the same modules for both tasks, as its one checkpoint."""
    return assemble(
        WanImageToVideoPipeline if task == "i2v" else WanPipeline,
        transformer=wan_transformer(TI2V_LATENT_CHANNELS, out_channels=TI2V_LATENT_CHANNELS),
        vae=_ti2v_vae(),
        scheduler=_scheduler(),
        text_encoder=tiny_text.t5(umt5=True),
        tokenizer=tiny_text.tokenizer(512),
        expand_timesteps=True,
    )
