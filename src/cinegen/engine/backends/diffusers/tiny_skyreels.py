"""SkyReels-V2 diffusion forcing's tiny twin: Wan 2.1's tiny autoencoder, text encoder and
tokenizer (``tiny_pipelines``, ``tiny_text``) under a two-block SkyReels-V2 transformer.

The config follows diffusers' ``tests/pipelines/skyreels_v2/test_skyreels_v2_df.py``; one set
of weights serves text-, image- and video-to-video, as the DF checkpoints do.
"""

# diffusers' constructors are untyped.
# mypy: disable-error-code="no-untyped-call"

from __future__ import annotations

from diffusers import (
    SkyReelsV2DiffusionForcingImageToVideoPipeline,
    SkyReelsV2DiffusionForcingPipeline,
    SkyReelsV2Transformer3DModel,
    UniPCMultistepScheduler,
)
from diffusers.pipelines.pipeline_utils import DiffusionPipeline

from cinegen.engine.backends.diffusers import tiny_text
from cinegen.engine.backends.diffusers.tiny_pipelines import assemble, wan_vae


def build_skyreels_v2(task: str) -> DiffusionPipeline:
    # The image goes in as the first latent frame, held like a continued clip's: the same
    # 16 input channels for every task.
    transformer = SkyReelsV2Transformer3DModel(
        patch_size=(1, 2, 2),
        num_attention_heads=2,
        attention_head_dim=12,
        in_channels=16,  # == vae z_dim
        out_channels=16,
        text_dim=32,  # == UMT5 d_model
        freq_dim=256,
        ffn_dim=32,
        num_layers=2,
        rope_max_seq_len=1024,  # as the real model: sides up to 1024 latent patches
    )
    # The checkpoints' scheduler: UniPC on flow-matching sigmas, shifted 8.0 (their docstring
    # for text-to-video; 5.0 for image-to-video).
    scheduler = UniPCMultistepScheduler(
        prediction_type="flow_prediction", use_flow_sigmas=True, flow_shift=8.0
    )
    return assemble(
        SkyReelsV2DiffusionForcingPipeline
        if task == "t2v"
        else SkyReelsV2DiffusionForcingImageToVideoPipeline,
        transformer=transformer,
        vae=wan_vae(),  # Wan 2.1's, as the checkpoints'
        scheduler=scheduler,
        text_encoder=tiny_text.t5(umt5=True),
        tokenizer=tiny_text.tokenizer(512),
    )
