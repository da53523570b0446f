"""Pyramid Flow's tiny random twin: every component of the published layout, a few
thousand weights each, built in code (tokenizers included), and able to save itself as the
published folder so tests load it back the way a user's download loads."""

# transformers' constructors are untyped.
# mypy: disable-error-code="no-untyped-call"

from __future__ import annotations

from pathlib import Path

import torch
from transformers import CLIPTextConfig, CLIPTextModel

from cinegen.engine.backends.diffusers import tiny_text
from cinegen.engine.backends.pyramid_flow.model import PyramidFluxConfig, PyramidFluxTransformer
from cinegen.engine.backends.pyramid_flow.pipeline import VARIANTS, PyramidFlow
from cinegen.engine.backends.pyramid_flow.text import T5_MAX_LENGTH, TextEncoders
from cinegen.engine.backends.pyramid_flow.vae import CausalVAEConfig, CausalVideoVAE
from cinegen.engine.backends.pyramid_flow.weights import write_state_dict

LATENT = 4  # latent channels (published: 16)
TRANSFORMER = PyramidFluxConfig(
    in_channels=4 * LATENT,
    num_layers=1,
    num_single_layers=1,
    attention_head_dim=16,
    num_attention_heads=2,
    joint_attention_dim=32,  # == the tiny T5's d_model
    pooled_projection_dim=16,  # == the tiny CLIP's hidden_size
    axes_dims_rope=(4, 6, 6),  # sums to attention_head_dim, as (16, 24, 24) sums to 64
)
VAE = CausalVAEConfig(
    encoder_out_channels=LATENT,
    encoder_layers_per_block=(1, 1, 1, 1),
    encoder_block_out_channels=(8, 8, 16, 16),
    encoder_norm_num_groups=4,
    decoder_in_channels=LATENT,
    decoder_layers_per_block=(1, 1, 1, 1),
    decoder_block_out_channels=(8, 8, 16, 16),
    decoder_norm_num_groups=4,
)
CLIP_MAX_LENGTH = 16


def _randomized(module: torch.nn.Module, seed: int) -> torch.nn.Module:
    """Every parameter drawn at random: the published init zeroes the output layers, which
    would make every render the same grey."""
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in module.named_parameters():
            scale = 1.0 if p.ndim == 1 and name.endswith("weight") else 0.0  # norms near 1
            p.copy_(torch.randn(p.shape, generator=gen) * 0.2 + scale)
    return module.eval()


def text_encoders() -> TextEncoders:
    torch.manual_seed(0)
    clip = CLIPTextModel(
        CLIPTextConfig(
            vocab_size=tiny_text.VOCAB_SIZE,
            hidden_size=TRANSFORMER.pooled_projection_dim,
            intermediate_size=37,
            num_attention_heads=2,
            num_hidden_layers=2,
            max_position_embeddings=CLIP_MAX_LENGTH,
            pad_token_id=0,
            bos_token_id=0,  # the word tokenizer has no start token
            eos_token_id=1,  # the pooled output is read at the first </s>
        )
    ).eval()
    return TextEncoders(
        clip_tokenizer=tiny_text.tokenizer(CLIP_MAX_LENGTH),
        clip=clip,
        t5_tokenizer=tiny_text.tokenizer(T5_MAX_LENGTH),
        t5=tiny_text.t5().eval(),
    )


def build(device: torch.device | None = None) -> PyramidFlow:
    """The twin in memory, both variants sharing one tiny transformer's weights."""
    dit = _randomized(PyramidFluxTransformer(TRANSFORMER), seed=1)
    vae = _randomized(CausalVideoVAE(VAE), seed=2)
    assert isinstance(dit, PyramidFluxTransformer) and isinstance(vae, CausalVideoVAE)
    device = device or torch.device("cpu")
    return PyramidFlow(
        text=text_encoders().to(device),
        vae=vae.to(device),
        device=device,
        dtype=torch.float32,
        transformers={name: dit.to(device) for name, _ in VARIANTS},
    )


def save(pipe: PyramidFlow, folder: Path) -> Path:
    """``pipe``'s components in the published layout under ``folder``."""
    for name, dit in pipe.transformers.items():
        write_state_dict(folder / name, dit.state_dict(), dit.config.to_json())
    write_state_dict(folder / "causal_video_vae", pipe.vae.state_dict(), pipe.vae.config.to_json())
    pipe.text.clip.save_pretrained(folder / "text_encoder")
    pipe.text.clip_tokenizer.save_pretrained(folder / "tokenizer")
    pipe.text.t5.save_pretrained(folder / "text_encoder_2")
    pipe.text.t5_tokenizer.save_pretrained(folder / "tokenizer_2")
    return folder
