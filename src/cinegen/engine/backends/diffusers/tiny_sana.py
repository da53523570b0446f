"""SANA-Video's tiny twin: a two-block linear-attention SANA-Video transformer over Wan 2.1's
tiny autoencoder (``tiny_pipelines``), read by a tiny Gemma 2 through LTX-2's character-level
Gemma tokenizer (``tiny_ltx2``). One set of weights serves text- and image-to-video, as the
published checkpoint does.
"""

# diffusers' and transformers' constructors are untyped.
# mypy: disable-error-code="no-untyped-call"

from __future__ import annotations

from diffusers import (
    DPMSolverMultistepScheduler,
    SanaImageToVideoPipeline,
    SanaVideoPipeline,
    SanaVideoTransformer3DModel,
)
from diffusers.pipelines.pipeline_utils import DiffusionPipeline
from transformers import Gemma2Config, Gemma2Model

from cinegen.engine.backends.diffusers.tiny_ltx2 import gemma_tokenizer
from cinegen.engine.backends.diffusers.tiny_pipelines import assemble, wan_vae

TEXT_HIDDEN = 16  # Gemma 2's hidden size == the transformer's caption_channels


def _gemma2(vocab_size: int) -> Gemma2Model:
    config = Gemma2Config(
        vocab_size=vocab_size,
        hidden_size=TEXT_HIDDEN,
        intermediate_size=37,
        num_hidden_layers=2,
        num_attention_heads=2,
        num_key_value_heads=1,
        head_dim=8,
        sliding_window=16,
        pad_token_id=0,
        eos_token_id=1,
        bos_token_id=2,
    )
    return Gemma2Model(config)


def build_sana_video(task: str) -> DiffusionPipeline:
    transformer = SanaVideoTransformer3DModel(
        in_channels=16,  # == vae z_dim
        out_channels=16,
        num_attention_heads=2,
        attention_head_dim=8,
        num_layers=2,
        num_cross_attention_heads=2,
        cross_attention_head_dim=8,
        cross_attention_dim=16,  # == heads x head dim
        caption_channels=TEXT_HIDDEN,
        sample_size=30,  # the 480p checkpoint's (it picks the pipeline's 480p size bins)
        patch_size=(1, 2, 2),
    )
    tokenizer = gemma_tokenizer()
    # Flow matching on a multistep solver, as the checkpoint's text-to-video scheduler.
    scheduler = DPMSolverMultistepScheduler(
        prediction_type="flow_prediction", use_flow_sigmas=True, flow_shift=8.0
    )
    return assemble(
        SanaVideoPipeline if task == "t2v" else SanaImageToVideoPipeline,
        transformer=transformer,
        vae=wan_vae(),
        scheduler=scheduler,
        text_encoder=_gemma2(len(tokenizer)),
        tokenizer=tokenizer,
    )
