"""Pyramid Flow's miniFLUX transformer, written here, reading the published weights.

The network is FLUX's (double-stream MMDiT blocks, then single-stream blocks, 3-axis RoPE),
as ``pyramid_dit/flux_modules/modeling_pyramid_flux.py`` of jy0205/Pyramid-Flow (MIT) builds
it; parameter names match that file's modules one for one, so the published
``diffusion_transformer_*/diffusion_pytorch_model*.safetensors`` load with ``strict=True``.

What differs from FLUX, from the reference:
- the input is a list of clips, oldest first: the history (at lower resolutions) and, last,
  the noisy latents being sampled. Their tokens are concatenated; only the last clip's are
  returned. RoPE positions of a smaller history clip are stretched (linear interpolation)
  onto the last clip's grid, and its time index continues from the clip before it.
- attention is temporally causal: a token sees text and tokens of its own or earlier
  latent frames; text sees only frame 0. Padded text tokens see only each other.

Only inference is written: one clip list per call (the reference's ``hidden_length`` holds
several resolutions of a training batch at once; at inference it always holds one).
"""

# nn.Module calls are untyped to mypy: their results are Any.
# mypy: disable-error-code="no-any-return, no-untyped-call"

from __future__ import annotations

import json
import math
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn

PATCH = 2  # Trap: the reference hard-codes 2x2 patches; config.json says patch_size 1.


@dataclass(frozen=True)
class PyramidFluxConfig:
    """The keys of ``diffusion_transformer_*/config.json`` the network's shape follows."""

    in_channels: int = 64  # latent channels x 2x2 patch: the VAE's 16 latent channels
    num_layers: int = 19  # double-stream blocks
    num_single_layers: int = 38
    attention_head_dim: int = 64
    num_attention_heads: int = 24
    joint_attention_dim: int = 4096  # T5-XXL
    pooled_projection_dim: int = 768  # CLIP-L pooled
    # Trap: the reference's loader passes [16, 24, 24] whatever config.json says; we read
    # config.json (the twin's heads are smaller) and refuse a split that misses the head.
    axes_dims_rope: tuple[int, ...] = (16, 24, 24)
    patch_size: int = 1  # recorded, unused (see PATCH)

    @classmethod
    def from_file(cls, path: Path) -> PyramidFluxConfig:
        raw: dict[str, Any] = json.loads(path.read_text())
        known = {f.name for f in fields(cls)}
        values: dict[str, Any] = {
            k: tuple(v) if isinstance(v, list) else v for k, v in raw.items() if k in known
        }
        return cls(**values)

    @property
    def width(self) -> int:
        return self.num_attention_heads * self.attention_head_dim

    @property
    def latent_channels(self) -> int:
        return self.in_channels // (PATCH * PATCH)

    def to_json(self) -> dict[str, Any]:
        """config.json as the reference's ``save_pretrained`` writes it."""
        body = {f.name: getattr(self, f.name) for f in fields(self)}
        body["axes_dims_rope"] = list(self.axes_dims_rope)
        return {"_class_name": "PyramidFluxTransformer", **body}


class RMSNorm(nn.Module):
    def __init__(self, dim: int, eps: float = 1e-6) -> None:
        super().__init__()
        self.eps = eps
        self.weight = nn.Parameter(torch.ones(dim))

    def forward(self, x: Tensor) -> Tensor:
        variance = x.float().pow(2).mean(-1, keepdim=True)
        return (x.float() * torch.rsqrt(variance + self.eps)).to(x.dtype) * self.weight


class Linear2(nn.Module):
    """linear_1 -> act -> linear_2: the timestep and pooled-text embedders."""

    def __init__(self, dim_in: int, dim: int) -> None:
        super().__init__()
        self.linear_1, self.linear_2 = nn.Linear(dim_in, dim), nn.Linear(dim, dim)

    def forward(self, x: Tensor) -> Tensor:
        return self.linear_2(F.silu(self.linear_1(x)))


class TimeTextEmbed(nn.Module):
    """``CombinedTimestepTextProjEmbeddings``: sinusoid(t) and pooled CLIP, each through an
    MLP, summed. t is the scheduler's timestep in [0, 1000]."""

    def __init__(self, dim: int, pooled_dim: int) -> None:
        super().__init__()
        self.timestep_embedder = Linear2(256, dim)
        self.text_embedder = Linear2(pooled_dim, dim)

    def forward(self, t: Tensor, pooled: Tensor) -> Tensor:
        half = 128
        freqs = torch.exp(-math.log(10000) * torch.arange(half, device=t.device) / half)
        angles = t.float()[:, None] * freqs[None]  # (B, 128)
        sinusoid = torch.cat([angles.cos(), angles.sin()], dim=-1)  # flip_sin_to_cos
        return self.timestep_embedder(sinusoid.to(pooled.dtype)) + self.text_embedder(pooled)


class GeluFF(nn.Module):
    """diffusers' FeedForward(gelu-approximate): keys net.0.proj, net.2."""

    class _Gelu(nn.Module):
        def __init__(self, dim: int, inner: int) -> None:
            super().__init__()
            self.proj = nn.Linear(dim, inner)

        def forward(self, x: Tensor) -> Tensor:
            return F.gelu(self.proj(x), approximate="tanh")

    def __init__(self, dim: int) -> None:
        super().__init__()
        self.net = nn.ModuleList(
            [self._Gelu(dim, 4 * dim), nn.Dropout(0.0), nn.Linear(4 * dim, dim)]
        )

    def forward(self, x: Tensor) -> Tensor:
        for layer in self.net:
            x = layer(x)
        return x


class Attention(nn.Module):
    """Keys as the reference's ``Attention``: to_q/k/v, norm_q/k (RMS over a head) and, for
    the double blocks, the text stream's add_*_proj, norm_added_*, to_out.0, to_add_out."""

    def __init__(self, dim: int, heads: int, *, joint: bool) -> None:
        super().__init__()
        self.heads, head_dim = heads, dim // heads
        self.to_q, self.to_k, self.to_v = (nn.Linear(dim, dim) for _ in range(3))
        self.norm_q, self.norm_k = RMSNorm(head_dim), RMSNorm(head_dim)
        if joint:
            self.add_q_proj, self.add_k_proj, self.add_v_proj = (
                nn.Linear(dim, dim) for _ in range(3)
            )
            self.norm_added_q, self.norm_added_k = RMSNorm(head_dim), RMSNorm(head_dim)
            self.to_out = nn.ModuleList([nn.Linear(dim, dim), nn.Dropout(0.0)])
            self.to_add_out = nn.Linear(dim, dim)

    def _qkv(self, x: Tensor, *, added: bool) -> tuple[Tensor, Tensor, Tensor]:
        b, n, _ = x.shape
        q, k, v = (
            (self.add_q_proj, self.add_k_proj, self.add_v_proj)
            if added
            else (self.to_q, self.to_k, self.to_v)
        )
        nq, nk = (self.norm_added_q, self.norm_added_k) if added else (self.norm_q, self.norm_k)
        split = (b, n, self.heads, -1)
        return nq(q(x).view(split)), nk(k(x).view(split)), v(x).view(split)  # (B, N, H, d)

    def attend(self, q: Tensor, k: Tensor, v: Tensor, rope: Tensor, mask: Tensor) -> Tensor:
        q, k = apply_rope(q, rope), apply_rope(k, rope)  # (B, N, H, d)
        out = F.scaled_dot_product_attention(
            q.transpose(1, 2), k.transpose(1, 2), v.transpose(1, 2), attn_mask=mask
        )  # (B, H, N, d)
        return out.transpose(1, 2).flatten(2)  # (B, N, D)


def rope_angles(positions: Tensor, axes_dims: tuple[int, ...], theta: float = 10000.0) -> Tensor:
    """positions (B, N, 3) -> angles (B, N, 1, head_dim / 2): each axis a band of frequencies
    (``rope``/``EmbedND`` in modeling_pyramid_flux.py)."""
    bands = []
    for axis, dim in enumerate(axes_dims):
        omega = 1.0 / theta ** (
            torch.arange(0, dim, 2, dtype=torch.float64, device=positions.device) / dim
        )
        bands.append(positions[..., axis, None].double() * omega)  # (B, N, dim / 2)
    return torch.cat(bands, dim=-1).float()[:, :, None]  # (B, N, 1, d / 2)


def apply_rope(x: Tensor, angles: Tensor) -> Tensor:
    """Rotate consecutive pairs (x0, x1) of each head by the angles: (B, N, H, d)."""
    pairs = x.float().unflatten(-1, (-1, 2))  # (B, N, H, d / 2, 2)
    cos, sin = angles.cos(), angles.sin()
    x0, x1 = pairs[..., 0], pairs[..., 1]
    out = torch.stack([cos * x0 - sin * x1, sin * x0 + cos * x1], dim=-1)
    return out.flatten(-2).type_as(x)


class AdaNorm(nn.Module):
    """LayerNorm without affine, shifted and scaled by chunks of linear(silu(temb)):
    6 chunks (double block), 3 (single block). Chunk order: shift, scale, gate, ..."""

    def __init__(self, dim: int, chunks: int) -> None:
        super().__init__()
        self.linear = nn.Linear(dim, chunks * dim)
        self.chunks = chunks

    def forward(self, x: Tensor, temb: Tensor) -> tuple[Tensor, ...]:
        mods = self.linear(F.silu(temb))[:, None].chunk(self.chunks, dim=-1)  # each (B, 1, D)
        shift, scale = mods[0], mods[1]
        return (F.layer_norm(x, x.shape[-1:], eps=1e-6) * (1 + scale) + shift, *mods[2:])


class DoubleBlock(nn.Module):
    """``FluxTransformerBlock``: image and text streams, each its own weights, one joint
    attention over [text, image]."""

    def __init__(self, dim: int, heads: int) -> None:
        super().__init__()
        self.norm1, self.norm1_context = AdaNorm(dim, 6), AdaNorm(dim, 6)
        self.attn = Attention(dim, heads, joint=True)
        self.ff, self.ff_context = GeluFF(dim), GeluFF(dim)

    def forward(
        self, x: Tensor, ctx: Tensor, temb: Tensor, rope: Tensor, mask: Tensor
    ) -> tuple[Tensor, Tensor]:
        nx, gate, shift2, scale2, gate2 = self.norm1(x, temb)  # (B, N, D), mods (B, 1, D)
        nc, c_gate, c_shift2, c_scale2, c_gate2 = self.norm1_context(ctx, temb)
        text = self.attn._qkv(nc, added=True)
        image = self.attn._qkv(nx, added=False)
        q, k, v = (
            torch.cat([t, i], dim=1) for t, i in zip(text, image, strict=True)
        )  # (B, L+N, H, d)
        out = self.attn.attend(q, k, v, rope, mask)  # (B, L+N, D)
        length = ctx.shape[1]
        x = x + gate * self.attn.to_out[0](out[:, length:])
        x = x + gate2 * self.ff(F.layer_norm(x, x.shape[-1:], eps=1e-6) * (1 + scale2) + shift2)
        ctx = ctx + c_gate * self.attn.to_add_out(out[:, :length])
        normed = F.layer_norm(ctx, ctx.shape[-1:], eps=1e-6) * (1 + c_scale2) + c_shift2
        return x, ctx + c_gate2 * self.ff_context(normed)


class SingleBlock(nn.Module):
    """``FluxSingleTransformerBlock``: one stream over [text, image], attention and MLP in
    parallel, one output projection."""

    def __init__(self, dim: int, heads: int) -> None:
        super().__init__()
        self.norm = AdaNorm(dim, 3)
        self.proj_mlp = nn.Linear(dim, 4 * dim)
        self.proj_out = nn.Linear(5 * dim, dim)
        self.attn = Attention(dim, heads, joint=False)

    def forward(self, x: Tensor, temb: Tensor, rope: Tensor, mask: Tensor) -> Tensor:
        normed, gate = self.norm(x, temb)  # (B, L+N, D)
        attn = self.attn.attend(*self.attn._qkv(normed, added=False), rope, mask)
        mlp = F.gelu(self.proj_mlp(normed), approximate="tanh")  # (B, L+N, 4D)
        return x + gate * self.proj_out(torch.cat([attn, mlp], dim=-1))


class _OutNorm(nn.Module):
    """``AdaLayerNormContinuous``'s weights: (scale, shift), in this order."""

    def __init__(self, dim: int) -> None:
        super().__init__()
        self.linear = nn.Linear(dim, 2 * dim)


class PyramidFluxTransformer(nn.Module):
    def __init__(self, config: PyramidFluxConfig) -> None:
        super().__init__()
        self.config = config
        dim, heads = config.width, config.num_attention_heads
        if sum(config.axes_dims_rope) != config.attention_head_dim:
            raise ValueError(
                f"axes_dims_rope {config.axes_dims_rope} must sum to attention_head_dim"
            )
        self.time_text_embed = TimeTextEmbed(dim, config.pooled_projection_dim)
        self.context_embedder = nn.Linear(config.joint_attention_dim, dim)
        self.x_embedder = nn.Linear(config.in_channels, dim)
        self.transformer_blocks = nn.ModuleList(
            DoubleBlock(dim, heads) for _ in range(config.num_layers)
        )
        self.single_transformer_blocks = nn.ModuleList(
            SingleBlock(dim, heads) for _ in range(config.num_single_layers)
        )
        self.norm_out = _OutNorm(dim)
        self.proj_out = nn.Linear(dim, config.in_channels)

    def forward(
        self,
        clips: list[Tensor],
        *,
        timestep: Tensor,
        text: Tensor,
        text_mask: Tensor,
        pooled: Tensor,
    ) -> Tensor:
        """clips [(B, C, T_i, H_i, W_i)], oldest first, the last one being sampled; timestep
        (B,) in [0, 1000]; text (B, L, joint_dim) with text_mask (B, L); pooled (B, pooled_dim)
        -> velocity of the last clip, (B, C, T, H, W)."""
        temb = self.time_text_embed(timestep, pooled)  # (B, D)
        ctx = self.context_embedder(text)  # (B, L, D)
        tokens = torch.cat([_patchify(c) for c in clips], dim=1)  # (B, N, 4C)
        x = self.x_embedder(tokens)  # (B, N, D)
        positions = _positions(clips, length=text.shape[1])  # (B, L+N, 3)
        rope = rope_angles(positions, self.config.axes_dims_rope)  # (B, L+N, 1, d/2)
        mask = _attention_mask(text_mask, positions[..., 0], n_image=x.shape[1])  # (B, 1, L+N, L+N)
        for block in self.transformer_blocks:
            x, ctx = block(x, ctx, temb, rope, mask)
        joint = torch.cat([ctx, x], dim=1)  # (B, L+N, D)
        for single in self.single_transformer_blocks:
            joint = single(joint, temb, rope, mask)
        x = joint[:, text.shape[1] :]  # (B, N, D)
        scale, shift = self.norm_out.linear(F.silu(temb))[:, None].chunk(2, dim=-1)  # (B, 1, D)
        x = self.proj_out(
            F.layer_norm(x, x.shape[-1:], eps=1e-6) * (1 + scale) + shift
        )  # (B, N, 4C)
        b, c, t, h, w = clips[-1].shape
        last = x[:, -t * (h // PATCH) * (w // PATCH) :]  # the sampled clip's tokens
        grid = last.reshape(b, t, h // PATCH, w // PATCH, PATCH, PATCH, c)
        return grid.permute(0, 6, 1, 2, 4, 3, 5).reshape(b, c, t, h, w)


def _patchify(clip: Tensor) -> Tensor:
    """(B, C, T, H, W) -> (B, T*(H/2)*(W/2), 2*2*C), channels last inside each patch."""
    b, c, t, h, w = clip.shape
    grid = clip.reshape(b, c, t, h // PATCH, PATCH, w // PATCH, PATCH)
    return grid.permute(0, 2, 3, 5, 4, 6, 1).reshape(b, -1, PATCH * PATCH * c)


def _positions(clips: list[Tensor], *, length: int) -> Tensor:
    """RoPE positions (B, L+N, 3) of [text, clips...]: text at (0, 0, 0); a clip's frames
    continue the time index; rows/columns stretched onto the last clip's patch grid."""
    last_h, last_w = clips[-1].shape[-2] // PATCH, clips[-1].shape[-1] // PATCH
    device, start = clips[-1].device, 0
    parts = [torch.zeros(length, 3, device=device)]
    for clip in clips:
        t, h, w = clip.shape[2], clip.shape[3] // PATCH, clip.shape[4] // PATCH
        ids = torch.zeros(t, h, w, 3, device=device)
        ids[..., 0] += torch.arange(start, start + t, device=device)[:, None, None]
        ids[..., 1] += _stretch(last_h, h, device)[None, :, None]
        ids[..., 2] += _stretch(last_w, w, device)[None, None, :]
        parts.append(ids.reshape(-1, 3))
        start += t
    return torch.cat(parts)[None].expand(clips[-1].shape[0], -1, -1)


def _stretch(full: int, size: int, device: torch.device) -> Tensor:
    """0..full-1 resampled to ``size`` points, as F.interpolate(linear) does (align_corners
    False), the reference's way of placing a smaller clip on the full grid."""
    grid = torch.arange(full, dtype=torch.float32, device=device)
    if size == full:
        return grid
    return F.interpolate(grid[None, None], size=size, mode="linear")[0, 0]


def _attention_mask(text_mask: Tensor, times: Tensor, *, n_image: int) -> Tensor:
    """(B, 1, L+N, L+N) bool: real text and image tokens see each other, padding sees only
    padding; and a query sees keys of its own or an earlier frame (text is frame 0)."""
    ids = torch.cat(
        [text_mask.bool(), text_mask.new_ones(text_mask.shape[0], n_image).bool()], dim=1
    )
    same = ids[:, :, None] == ids[:, None, :]  # (B, L+N, L+N)
    causal = times[:, :, None] >= times[:, None, :]
    return (same & causal)[:, None]


def load_transformer(folder: Path, dtype: torch.dtype) -> PyramidFluxTransformer:
    """The transformer from a ``diffusion_transformer_*`` folder: config.json beside one
    ``diffusion_pytorch_model.safetensors`` or its shards (``*.safetensors.index.json``)."""
    from cinegen.engine.backends.pyramid_flow.weights import read_state_dict

    config = PyramidFluxConfig.from_file(folder / "config.json")
    with torch.device("meta"):
        model = PyramidFluxTransformer(config)
    model.load_state_dict(read_state_dict(folder, dtype), strict=True, assign=True)
    return model.eval()
