"""The published transformers (and their VAEs), full size with random weights, built in code:
no hub, no download. ``tests/engine/test_fullsize.py`` runs one step of each on the CPU;
``bench/gpu.py`` times them at their native grids on a GPU.

``FULL`` holds, per registry id, the transformer's diffusers class and published configuration,
the text width it reads and the ``footprints.py`` row that counts it, and the published VAE's
class and configuration. ``build_pipeline`` takes the model's tiny twin and swaps in the
full-size transformer, a text encoder one layer deep at the width the transformer reads (the
text encoder runs once a call: its depth is not what is measured), and, with
``published_vae``, the full-size VAE; else the twin's VAE stays and the transformer's latent
channels follow it (``Full.extra``: LTX 8 for 128, CogVideoX 4 for 16). ``FullSizeBackend``
is ``DiffusersVideoBackend`` loading that pipeline instead of weights. Pyramid Flow, a backend
of our own, has a row too: its pieces and backend are in ``pyramid_flow/fullsize.py``.
``load`` gives any row's backend, ``denoisers`` the transformers it steps through.

Trap: the weights are random. Seconds and bytes are the real model's (same shapes, same
kernels); the pictures are noise, and a step cache skips as the random activations let it,
not as the trained model's would.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import diffusers
import torch

from cinegen import footprints
from cinegen.config import Settings
from cinegen.engine.backends.diffusers import tiny_twins
from cinegen.engine.backends.diffusers.backend import DiffusersVideoBackend
from cinegen.engine.backends.diffusers.random_weights import (
    default_dtype,
    wider_text_encoder,
)
from cinegen.engine.backends.diffusers.random_weights import param_count as param_count
from cinegen.engine.backends.pyramid_flow import fullsize as pyramid_flow
from cinegen.footprints import Footprint
from cinegen.registry import MODELS

TWIN = "-tiny-random"  # the registry's suffix for a model's twin

# Wan 2.1 1.3B's published transformer (Wan-AI/Wan2.1-T2V-1.3B-Diffusers), the shape SkyReels
# and VACE extend.
WAN_1_3B: dict[str, Any] = dict(
    patch_size=(1, 2, 2), num_attention_heads=12, attention_head_dim=128, in_channels=16,
    out_channels=16, text_dim=4096, freq_dim=256, ffn_dim=8960, num_layers=30,
    cross_attn_norm=True, qk_norm="rms_norm_across_heads", eps=1e-6,
)  # fmt: skip

# The VAEs. AutoencoderKLWan's class defaults are Wan 2.1's VAE (Wan, VACE, SkyReels-V2 and
# SANA-Video load it); AutoencoderKLCogVideoX's are CogVideoX's; AutoencoderKLLTXVideo's count the
# 0.419 B of LTX-Video 0.9.5's (32x32x8, 128 latent channels). Each VAE here has its
# footprints.py row's parameter count exactly.
WAN_21_VAE: tuple[str, dict[str, Any]] = ("AutoencoderKLWan", {})
# Wan-AI/Wan2.2-TI2V-5B-Diffusers' vae/config.json; its per-channel statistics as zeros and
# ones (random weights have none).
WAN_22_VAE: tuple[str, dict[str, Any]] = (
    "AutoencoderKLWan",
    dict(
        base_dim=160, decoder_base_dim=256, z_dim=48, dim_mult=[1, 2, 4, 4], num_res_blocks=2,
        temperal_downsample=[False, True, True], is_residual=True, in_channels=12,
        out_channels=12, patch_size=2, scale_factor_spatial=16, scale_factor_temporal=4,
        latents_mean=[0.0] * 48, latents_std=[1.0] * 48,
    ),
)  # fmt: skip


@dataclass(frozen=True)
class Full:
    """A model's published transformer: its diffusers class and configuration, the text width
    it reads (the twin's text encoder is rebuilt at that width), the row that counts it and
    its published VAE."""

    model: str  # the registry id; its ``-tiny-random`` twin carries the rest
    # The diffusers class, or (a backend of our own) what builds it from the config's keys.
    transformer: str | Callable[..., torch.nn.Module]
    config: dict[str, Any]
    text_width: int
    footprint: Footprint
    height: int  # the smallest valid size and frame count
    width: int
    frames: int
    # The diffusers class (or builder) and its published configuration.
    vae: tuple[str | Callable[..., torch.nn.Module], dict[str, Any]]
    extra: dict[str, Any] = field(default_factory=dict)  # overrides for the twin's VAE
    # What runs it: ``FullSizeBackend`` (None), or a backend of our own built the same way,
    # called ``(entry, settings, published_vae=)``.
    backend: Callable[..., Any] | None = None


FULL: dict[str, Full] = {
    f.model: f
    for f in (
        # Lightricks/LTX-Video-0.9.5: the class defaults are its transformer/config.json.
        Full("ltx-video", "LTXVideoTransformer3DModel", {}, 4096, footprints.LTX_VIDEO,
             32, 32, 9, ("AutoencoderKLLTXVideo", {}), extra=dict(in_channels=8, out_channels=8)),
        Full("wan", "WanTransformer3DModel", WAN_1_3B, 4096, footprints.WAN_1_3B, 16, 16, 5,
             WAN_21_VAE),
        # Wan-AI/Wan2.1-VACE-1.3B-diffusers: 15 VACE blocks on every other layer; its 96
        # context channels are 2 x 16 latents + the 8x8 mask, as the twin's VAE gives them.
        Full("wan-vace", "WanVACETransformer3DModel",
             {**WAN_1_3B, "vace_layers": list(range(0, 30, 2)), "vace_in_channels": 96},
             4096, footprints.WAN_VACE_1_3B, 16, 16, 5, WAN_21_VAE),
        # THUDM/CogVideoX-5b (diffusers' scripts/convert_cogvideox_to_diffusers.py, 5b).
        Full("cogvideox", "CogVideoXTransformer3DModel",
             dict(num_attention_heads=48, attention_head_dim=64, num_layers=42,
                  text_embed_dim=4096, time_embed_dim=512, use_rotary_positional_embeddings=True,
                  use_learned_positional_embeddings=False),
             4096, footprints.COGVIDEOX_5B, 16, 16, 9, ("AutoencoderKLCogVideoX", {}),
             extra=dict(in_channels=4, out_channels=4)),
        # Skywork/SkyReels-V2-DF-1.3B-540P (diffusers' scripts/convert_skyreelsv2_to_diffusers.py).
        Full("skyreels-v2", "SkyReelsV2Transformer3DModel",
             {**WAN_1_3B, "inject_sample_info": True}, 4096, footprints.SKYREELS_V2_DF_1_3B,
             16, 16, 5, WAN_21_VAE),
        # Efficient-Large-Model/SANA-Video_2B_480p (scripts/convert_sana_video_to_diffusers.py).
        Full("sana-video", "SanaVideoTransformer3DModel",
             dict(in_channels=16, out_channels=16, num_attention_heads=20, attention_head_dim=112,
                  num_layers=20, num_cross_attention_heads=20, cross_attention_head_dim=112,
                  cross_attention_dim=2240, caption_channels=2304, mlp_ratio=3.0,
                  attention_bias=False, sample_size=30, patch_size=(1, 2, 2),
                  norm_elementwise_affine=False, norm_eps=1e-6, qk_norm="rms_norm_across_heads",
                  rope_max_seq_len=1024),
             2304, footprints.SANA_VIDEO_2B, 32, 32, 5, WAN_21_VAE),
        # Wan-AI/Wan2.2-TI2V-5B-Diffusers' transformer/config.json.
        Full("wan-2.2-ti2v", "WanTransformer3DModel",
             {**WAN_1_3B, "num_attention_heads": 24, "ffn_dim": 14336, "in_channels": 48,
              "out_channels": 48},
             4096, footprints.WAN_22_TI2V_5B, 32, 32, 5, WAN_22_VAE),
        # rain1011/pyramid-flow-miniflux, our own backend (pyramid_flow/fullsize.py): the
        # transformer's class defaults are the reference's; text widths CLIP-L and T5-XXL.
        Full("pyramid-flow", pyramid_flow.transformer, {}, 4096,
             footprints.PYRAMID_FLOW_MINIFLUX, 64, 64, 9,
             (pyramid_flow.vae, pyramid_flow.PUBLISHED_VAE), extra=pyramid_flow.TWIN_VAE_CHANNELS,
             backend=pyramid_flow.FullSizePyramidFlowBackend),
    )
}  # fmt: skip


Maker = str | Callable[..., torch.nn.Module]  # a diffusers class's name, or a builder


def build_module(made_by: Maker, config: dict[str, Any], device: torch.device | str) -> Any:
    """``diffusers.<made_by>(**config)`` (or ``made_by(**config)``) in bfloat16, its weights
    made on ``device`` (a GPU draws 5 B random numbers in a second; one CPU thread takes
    minutes)."""
    make = getattr(diffusers, made_by) if isinstance(made_by, str) else made_by
    with default_dtype(torch.bfloat16), torch.device(device):
        return make(**config).eval()


def load(model: str, settings: Settings, *, published_vae: bool = True) -> Any:
    """The backend that renders ``model`` (a ``FULL`` id or its twin's) at full size."""
    full = FULL[model.removesuffix(TWIN)]
    backend = full.backend or FullSizeBackend
    return backend(MODELS[model], settings, published_vae=published_vae)


def denoisers(backend: Any) -> list[Any]:
    """The transformers a render steps through: a backend of our own names them; a
    diffusers one has its text-to-video pipeline's (and Wan 2.2's second expert)."""
    if hasattr(backend, "denoisers"):
        return list(backend.denoisers())
    pipe = backend._pipes["t2v"]
    second = getattr(pipe, "transformer_2", None)
    return [pipe.transformer] + ([] if second is None else [second])


def build_pipeline(
    full: Full,
    task: str = "t2v",
    seed: int = 0,
    *,
    device: torch.device | str = "cpu",
    published_vae: bool = False,
) -> Any:
    """The model's twin pipeline for ``task`` with the published transformer (and VAE), in
    bfloat16 on ``device``.

    The pipeline is made anew over the swapped components: a pipeline reads its VAE's and
    transformer's scale factors and patch sizes once, when it is made (``vae_scale_factor_*``),
    so ``register_modules`` alone would keep the twin's."""
    twin: Any = tiny_twins.build_tiny_pipeline(_family(full), task, seed)
    torch.manual_seed(seed)
    components = dict(twin.components)
    config = full.config if published_vae else {**full.config, **full.extra}
    components["transformer"] = build_module(full.transformer, config, device)
    if published_vae:
        components["vae"] = build_module(full.vae[0], full.vae[1], device)
    components["text_encoder"] = wider_text_encoder(twin.text_encoder, full.text_width)
    # The pipeline's own settings (Wan 2.2 TI2V's ``expand_timesteps``): plain values only,
    # a module's config entry is its (library, class) pair.
    _, optional = type(twin)._get_signature_keys(twin)
    settings = {
        name: twin.config[name]
        for name in optional
        if name in twin.config and not isinstance(twin.config[name], (list, tuple))
    }
    pipe = type(twin)(**components, **settings)
    pipe.set_progress_bar_config(disable=True)
    return pipe.to(device=device, dtype=torch.bfloat16)


def _family(full: Full) -> str:
    return MODELS[full.model].family


@dataclass
class FullSizeBackend(DiffusersVideoBackend):
    """``DiffusersVideoBackend`` over ``build_pipeline``: the model's own entry (or its
    twin's) runs the published shapes with random weights, placed and called as loaded
    weights would be. Only models in ``FULL``."""

    published_vae: bool = True

    def _load(self, task: str) -> Any:
        full = FULL[self.entry.id.removesuffix(TWIN)]
        return build_pipeline(full, task, device=self.device, published_vae=self.published_vae).to(
            dtype=self.dtype
        )
