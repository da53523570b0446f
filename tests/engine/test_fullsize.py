"""The published transformers, full size with random weights, run one step through our
backend on the CPU: the real shapes load and run here, not only the tiny twins' (issue 21).

Every model up to 5 B transformer parameters: its transformer is built in bfloat16 with the
configuration its ``footprints.py`` row counts (the parameter count is checked against that
row), swapped into the model's tiny twin, and one denoising step renders through
``DiffusersVideoBackend`` at the smallest size. The twin's VAE stays tiny; its text encoder is
rebuilt one layer deep at the width the transformer reads (T5's d_model, Gemma's hidden size),
and the transformer's latent channels follow the twin's VAE where the published VAE's differ
(LTX: 8 for 128, CogVideoX: 4 for 16; a few thousand parameters of its patch projections).

Deselected by default (``fullsize`` marker, pyproject's addopts): run them one at a time,
``pytest -m fullsize -k wan``. Each needs about 2 bytes per parameter free, and skips saying so
where ``/proc/meminfo`` shows less.

Seconds each took here, one at a time (2 CPU cores shared with other work, one thread, the
build of the random weights included; pytest --durations; 24 GB RAM, 21 GB free at start):
  ltx-video 52, wan 88, skyreels-v2 88, wan-vace 87, sana-video 115, wan-2.2-ti2v 267,
  cogvideox 610 (5.57 B: 11.5 GB resident), cinegen-tiny 1.5 (its shipped weights).
  pyramid-flow 570 (2.98 B, 6.5 GB resident: each forward carries 128 T5 tokens in a batch
  of 2, about 1.7 TFLOP, and 9 frames take several; a first try ran out at 500 s).
Left out: kandinsky-6 (Lite). Its width and depth are not published (footprints.py ASSUMES
Kandinsky 5 Lite's 32 blocks of 1792, which with the audio stream count 5.0 B against the
card's 3 B), so there is no published configuration to build.
"""

from __future__ import annotations

import gc
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import diffusers
import psutil
import pytest
import torch

from cinegen import footprints
from cinegen.config import Settings
from cinegen.engine.backends.base import RenderJob, StepHooks
from cinegen.engine.backends.diffusers import tiny_twins
from cinegen.engine.backends.diffusers.backend import DiffusersVideoBackend
from cinegen.footprints import Footprint
from cinegen.registry import MODELS

pytestmark = [pytest.mark.fullsize, pytest.mark.usefixtures("one_thread", "asked_for")]


@pytest.fixture
def asked_for(request: pytest.FixtureRequest) -> None:
    """Only when the marker is asked for by name: another ``-m`` (``-m "not slow"``, ``-m
    slow``) replaces pyproject's ``not fullsize`` and would otherwise build 10 GB models."""
    expression = str(request.config.getoption("markexpr", ""))
    if "fullsize" not in expression or "not fullsize" in expression:
        pytest.skip("full size: run with pytest -m fullsize -k MODEL")


# Wan 2.1 1.3B's published transformer (Wan-AI/Wan2.1-T2V-1.3B-Diffusers), the shape SkyReels
# and VACE extend.
WAN_1_3B: dict[str, Any] = dict(
    patch_size=(1, 2, 2), num_attention_heads=12, attention_head_dim=128, in_channels=16,
    out_channels=16, text_dim=4096, freq_dim=256, ffn_dim=8960, num_layers=30,
    cross_attn_norm=True, qk_norm="rms_norm_across_heads", eps=1e-6,
)  # fmt: skip


@dataclass(frozen=True)
class Full:
    """A model's published transformer: its diffusers class and configuration, the text width
    it reads (the twin's text encoder is rebuilt at that width) and the row that counts it."""

    model: str  # the registry id; its ``-tiny-random`` twin carries the rest
    transformer: str  # the diffusers class
    config: dict[str, Any]
    text_width: int
    footprint: Footprint
    height: int  # the smallest valid size and frame count
    width: int
    frames: int
    extra: dict[str, Any] = field(default_factory=dict)  # overrides for the twin (channels)


FULL: dict[str, Full] = {
    f.model: f
    for f in (
        # Lightricks/LTX-Video-0.9.5: the class defaults are its transformer/config.json.
        Full("ltx-video", "LTXVideoTransformer3DModel", {}, 4096, footprints.LTX_VIDEO,
             32, 32, 9, extra=dict(in_channels=8, out_channels=8)),
        Full("wan", "WanTransformer3DModel", WAN_1_3B, 4096, footprints.WAN_1_3B, 16, 16, 5),
        # Wan-AI/Wan2.1-VACE-1.3B-diffusers: 15 VACE blocks on every other layer; its 96
        # context channels are 2 x 16 latents + the 8x8 mask, as the twin's VAE gives them.
        Full("wan-vace", "WanVACETransformer3DModel",
             {**WAN_1_3B, "vace_layers": list(range(0, 30, 2)), "vace_in_channels": 96},
             4096, footprints.WAN_VACE_1_3B, 16, 16, 5),
        # THUDM/CogVideoX-5b (diffusers' scripts/convert_cogvideox_to_diffusers.py, 5b).
        Full("cogvideox", "CogVideoXTransformer3DModel",
             dict(num_attention_heads=48, attention_head_dim=64, num_layers=42,
                  text_embed_dim=4096, time_embed_dim=512, use_rotary_positional_embeddings=True,
                  use_learned_positional_embeddings=False),
             4096, footprints.COGVIDEOX_5B, 16, 16, 9,
             extra=dict(in_channels=4, out_channels=4)),
        # Skywork/SkyReels-V2-DF-1.3B-540P (diffusers' scripts/convert_skyreelsv2_to_diffusers.py).
        Full("skyreels-v2", "SkyReelsV2Transformer3DModel",
             {**WAN_1_3B, "inject_sample_info": True}, 4096, footprints.SKYREELS_V2_DF_1_3B,
             16, 16, 5),
        # Efficient-Large-Model/SANA-Video_2B_480p (scripts/convert_sana_video_to_diffusers.py).
        Full("sana-video", "SanaVideoTransformer3DModel",
             dict(in_channels=16, out_channels=16, num_attention_heads=20, attention_head_dim=112,
                  num_layers=20, num_cross_attention_heads=20, cross_attention_head_dim=112,
                  cross_attention_dim=2240, caption_channels=2304, mlp_ratio=3.0,
                  attention_bias=False, sample_size=30, patch_size=(1, 2, 2),
                  norm_elementwise_affine=False, norm_eps=1e-6, qk_norm="rms_norm_across_heads",
                  rope_max_seq_len=1024),
             2304, footprints.SANA_VIDEO_2B, 32, 32, 5),
        # Wan-AI/Wan2.2-TI2V-5B-Diffusers' transformer/config.json.
        Full("wan-2.2-ti2v", "WanTransformer3DModel",
             {**WAN_1_3B, "num_attention_heads": 24, "ffn_dim": 14336, "in_channels": 48,
              "out_channels": 48},
             4096, footprints.WAN_22_TI2V_5B, 32, 32, 5),
    )
}  # fmt: skip


def free_bytes() -> int:
    return int(psutil.virtual_memory().available)


def skip_unless_free(model: str, parameters: float) -> None:
    needed = int(parameters * 2 * 1.3)  # bf16 weights, and room to run
    if free_bytes() < needed:
        pytest.skip(f"{model}: needs about {needed / 2**30:.1f} GiB free, "
                    f"{free_bytes() / 2**30:.1f} GiB is")  # fmt: skip


def param_count(module: torch.nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())


@contextmanager
def default_dtype(dtype: torch.dtype) -> Iterator[None]:
    """Parameters made in ``dtype`` at once: a 5 B transformer built in float32 and cast
    would hold 20 GB on the way, more than this machine has."""
    before = torch.get_default_dtype()
    torch.set_default_dtype(dtype)
    try:
        yield
    finally:
        torch.set_default_dtype(before)


def wider_text_encoder(encoder: torch.nn.Module, width: int) -> torch.nn.Module:
    """The twin's text encoder, one layer deep, at ``width``: what the transformer reads."""
    config = encoder.config.__class__(**encoder.config.to_dict())
    size_key = "d_model" if hasattr(config, "d_model") else "hidden_size"
    setattr(config, size_key, width)
    for depth in ("num_layers", "num_hidden_layers"):
        if hasattr(config, depth):
            setattr(config, depth, 1)
    if hasattr(config, "layer_types") and config.layer_types is not None:
        config.layer_types = config.layer_types[:1]
    torch.manual_seed(0)
    return type(encoder)(config).to(torch.bfloat16).eval()


def swap_in(full: Full) -> Callable[..., Any]:
    """``build_tiny_pipeline`` with the published transformer and a wide text encoder."""
    build = tiny_twins.build_tiny_pipeline

    def build_full(family: str, task: str = "t2v", seed: int = 0) -> Any:
        pipe = build(family, task, seed)
        cls = getattr(diffusers, full.transformer)
        torch.manual_seed(seed)
        with default_dtype(torch.bfloat16):
            transformer = cls(**{**full.config, **full.extra}).eval()
        text = wider_text_encoder(pipe.text_encoder, full.text_width)
        pipe.register_modules(transformer=transformer, text_encoder=text)
        return pipe.to(dtype=torch.bfloat16)

    return build_full


@pytest.mark.parametrize("model", list(FULL))
def test_the_published_transformer_runs_one_step_through_the_backend(
    model: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    full = FULL[model]
    skip_unless_free(model, full.footprint.transformer)
    monkeypatch.setattr(tiny_twins, "build_tiny_pipeline", swap_in(full))
    backend = DiffusersVideoBackend(MODELS[f"{model}-tiny-random"], Settings(dtype="bfloat16"))
    try:
        built = param_count(backend._pipes["t2v"].transformer)
        # The same configuration its footprint row counts (the channel overrides aside).
        assert built == pytest.approx(full.footprint.transformer, rel=0.01)
        job = RenderJob(
            prompt="a red ball bouncing", negative_prompt="blurry", width=full.width,
            height=full.height, n_frames=full.frames, fps=16.0, seeds=[1], steps=1,
            guidance=5.0,
        )  # fmt: skip
        clips = backend.render(job, StepHooks())
        assert clips.frames.shape == (1, full.frames, full.height, full.width, 3)
    finally:
        del backend
        gc.collect()


def pyramid_full(device: torch.device) -> Any:
    """Pyramid Flow's twin with the miniflux transformer (our ``PyramidFluxConfig``'s
    defaults, the reference class's), its latent channels the twin VAE's, and the CLIP and
    T5 encoders at the widths it reads (768 pooled, 4096 per token)."""
    from cinegen.engine.backends.pyramid_flow import tiny
    from cinegen.engine.backends.pyramid_flow.model import PyramidFluxConfig, PyramidFluxTransformer
    from cinegen.engine.backends.pyramid_flow.pipeline import VARIANTS, PyramidFlow
    from cinegen.engine.backends.pyramid_flow.vae import CausalVideoVAE

    config = PyramidFluxConfig(in_channels=tiny.TRANSFORMER.in_channels)
    torch.manual_seed(1)
    with default_dtype(torch.bfloat16):
        dit = PyramidFluxTransformer(config).eval()
    text = tiny.text_encoders()
    text.clip = wider_text_encoder(text.clip, config.pooled_projection_dim)
    text.t5 = wider_text_encoder(text.t5, config.joint_attention_dim)
    vae = CausalVideoVAE(tiny.VAE).to(torch.bfloat16).eval()
    return PyramidFlow(
        text=text, vae=vae, device=device, dtype=torch.bfloat16,
        transformers={name: dit for name, _ in VARIANTS},
    )  # fmt: skip


def test_pyramid_flow_miniflux_runs_one_step_through_the_backend(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from cinegen.engine.backends.pyramid_flow import tiny
    from cinegen.engine.backends.pyramid_flow.backend import PyramidFlowBackend

    skip_unless_free("pyramid-flow", footprints.PYRAMID_FLOW_MINIFLUX.transformer)
    monkeypatch.setattr(tiny, "build", pyramid_full)
    backend = PyramidFlowBackend(MODELS["pyramid-flow-tiny-random"], Settings(dtype="bfloat16"))
    try:
        dit = next(iter(backend.pipeline.transformers.values()))
        assert param_count(dit) == pytest.approx(
            footprints.PYRAMID_FLOW_MINIFLUX.transformer, rel=0.01
        )
        job = RenderJob(
            prompt="a red ball bouncing", negative_prompt="blurry", width=64, height=64,
            n_frames=9, fps=24.0, seeds=[1], steps=1, guidance=7.0,
        )  # fmt: skip
        clips = backend.render(job, StepHooks())
        assert clips.frames.shape == (1, 9, 64, 64, 3)
    finally:
        del backend
        gc.collect()


def test_cinegen_tiny_ships_full_size_and_runs_one_step() -> None:
    """The embedded model has no twin: its shipped weights are the full size."""
    from cinegen.engine.backends.cinegen_tiny import CinegenTinyBackend

    backend = CinegenTinyBackend(MODELS["cinegen-tiny"], Settings())
    job = RenderJob(
        prompt="a red circle moving left", negative_prompt="", width=64, height=64,
        n_frames=16, fps=8.0, seeds=[1], steps=1, guidance=4.0,
    )  # fmt: skip
    clips = backend.render(job, StepHooks())
    assert clips.frames.shape == (1, 16, 64, 64, 3)
