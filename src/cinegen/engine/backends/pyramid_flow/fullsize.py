"""Pyramid Flow at full size with random weights, built in code: the miniflux transformer
(``PyramidFluxConfig``'s defaults, the reference class's), and with ``published_vae`` the
causal VAE at the published 16 latent channels; else the twin's VAE stays and the
transformer's input channels follow its 4 latent channels. The CLIP and T5 encoders are
the twin's, one layer deep at the widths the transformer reads (768 pooled, 4096 per
token). ``diffusers/fullsize.py``'s ``FULL`` row names this module's pieces, so
``bench/gpu.py`` and ``tests/engine/test_fullsize.py`` build it as they build the others.

Trap: the weights are random: seconds and bytes are the real model's, the pictures noise.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import torch

from cinegen.engine.backends.device import pick_device_dtype
from cinegen.engine.backends.diffusers.random_weights import default_dtype, wider_text_encoder
from cinegen.engine.backends.pyramid_flow import tiny
from cinegen.engine.backends.pyramid_flow.backend import PyramidFlowBackend
from cinegen.engine.backends.pyramid_flow.model import PyramidFluxConfig, PyramidFluxTransformer
from cinegen.engine.backends.pyramid_flow.pipeline import VARIANTS, PyramidFlow
from cinegen.engine.backends.pyramid_flow.vae import CausalVAEConfig, CausalVideoVAE

# The published causal VAE: 16 latent channels (footprints.PYRAMID_FLOW_MINIFLUX; its
# widths are CausalVAEConfig's defaults, the reference's, ASSUMED as there).
PUBLISHED_VAE: dict[str, Any] = dict(encoder_out_channels=16, decoder_in_channels=16)
# With the twin's VAE: the transformer reads its 4 latent channels in 2x2 patches.
TWIN_VAE_CHANNELS: dict[str, Any] = dict(in_channels=tiny.TRANSFORMER.in_channels)


def transformer(**config: Any) -> PyramidFluxTransformer:
    """The transformer from config.json's keys (no key: the published miniflux)."""
    return PyramidFluxTransformer(PyramidFluxConfig(**config))


def vae(**config: Any) -> CausalVideoVAE:
    return CausalVideoVAE(CausalVAEConfig(**config))


def build(
    device: torch.device | str = "cpu",
    *,
    published_vae: bool = True,
    dtype: torch.dtype = torch.bfloat16,
) -> PyramidFlow:
    """Both variants (384p, 768p) share one full-size transformer, as the twin's do."""
    device = torch.device(device)
    torch.manual_seed(1)
    with default_dtype(dtype), torch.device(device):
        dit = transformer(**({} if published_vae else TWIN_VAE_CHANNELS)).eval()
        decoder = vae(**PUBLISHED_VAE).eval() if published_vae else None
    if decoder is None:
        decoder = CausalVideoVAE(tiny.VAE).to(device=device, dtype=dtype).eval()
    text = tiny.text_encoders()
    text.clip = wider_text_encoder(text.clip, dit.config.pooled_projection_dim)
    text.t5 = wider_text_encoder(text.t5, dit.config.joint_attention_dim)
    return PyramidFlow(
        text=text.to(device), vae=decoder, device=device, dtype=dtype,
        transformers={name: dit for name, _ in VARIANTS},
    )  # fmt: skip


@dataclass
class FullSizePyramidFlowBackend(PyramidFlowBackend):
    """``PyramidFlowBackend`` over ``build``: the model's entry (or its twin's) runs the
    published shapes with random weights, called as loaded weights would be."""

    published_vae: bool = field(default=True, kw_only=True)

    def __post_init__(self) -> None:
        device, dtype = pick_device_dtype(self.settings, tiny=False)
        self.weights_from = "random, full size, built in code"
        self.pipeline = build(device, published_vae=self.published_vae, dtype=dtype)
