"""Pyramid Flow's causal video VAE, written here, reading ``causal_video_vae/``.

Layout and math as ``video_vae/`` of jy0205/Pyramid-Flow (MIT): ``modeling_causal_vae.py``
(CausalVideoVAE), ``modeling_enc_dec.py``, ``modeling_block.py``, ``modeling_resnet.py`` and
``modeling_causal_conv.py``. Parameter names match one for one (``load_state_dict(strict=
True)``). 8x in space and 8x in time, causally: F = 8k + 1 frames <-> k + 1 latent frames,
the first latent frame being the first picture alone.

Every 3-D convolution is causal in time: it pads two zero frames in front, none behind. A
long clip decodes in windows of latent frames (as the reference's ``chunk_decode``); each
convolution carries the last two frames of its padded input from one window to the next, so
windows give what one pass would (``tests/engine/test_pyramid_flow.py`` checks it).
"""

# nn.Module calls are untyped to mypy: their results are Any.
# mypy: disable-error-code="no-any-return, no-untyped-call"

from __future__ import annotations

import itertools
import json
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn

# How a causal convolution meets the frames before this call: "whole" (none: zero padding),
# "first" (none, and keep the tail for the next window) or "next" (the kept tail).
Window = str


@dataclass(frozen=True)
class CausalVAEConfig:
    """The keys of ``causal_video_vae/config.json`` the network's shape follows (others, such
    as dropout or sample_size, change nothing at inference)."""

    encoder_in_channels: int = 3
    encoder_out_channels: int = 4  # latent channels (the published miniflux VAE: 16)
    encoder_layers_per_block: tuple[int, ...] = (2, 2, 2, 2)
    encoder_block_out_channels: tuple[int, ...] = (128, 256, 512, 512)
    encoder_spatial_down_sample: tuple[bool, ...] = (True, True, True, False)
    encoder_temporal_down_sample: tuple[bool, ...] = (True, True, True, False)
    encoder_norm_num_groups: int = 32
    decoder_in_channels: int = 4
    decoder_out_channels: int = 3
    decoder_layers_per_block: tuple[int, ...] = (3, 3, 3, 3)
    decoder_block_out_channels: tuple[int, ...] = (128, 256, 512, 512)
    decoder_spatial_up_sample: tuple[bool, ...] = (True, True, True, False)
    decoder_temporal_up_sample: tuple[bool, ...] = (True, True, True, False)
    decoder_norm_num_groups: int = 32

    @classmethod
    def from_file(cls, path: Path) -> CausalVAEConfig:
        raw: dict[str, Any] = json.loads(path.read_text())
        known = {f.name for f in fields(cls)}
        values: dict[str, Any] = {
            k: tuple(v) if isinstance(v, list) else v for k, v in raw.items() if k in known
        }
        return cls(**values)

    def to_json(self) -> dict[str, Any]:
        body = {f.name: getattr(self, f.name) for f in fields(self)}
        return {
            "_class_name": "CausalVideoVAE",
            **{k: list(v) if isinstance(v, tuple) else v for k, v in body.items()},
        }


class CausalConv3d(nn.Module):
    """Conv3d (key ``conv``) padded causally in time and symmetrically in space."""

    def __init__(
        self, c_in: int, c_out: int, kernel: int = 3, stride: tuple[int, int, int] = (1, 1, 1)
    ) -> None:
        super().__init__()
        self.conv = nn.Conv3d(c_in, c_out, kernel, stride=stride)
        self.kernel, self.time_stride = kernel, stride[0]
        self.tail: Tensor | None = None

    def forward(self, x: Tensor, window: Window = "whole") -> Tensor:
        p = self.kernel // 2
        front = (self.kernel - 1) if window != "next" else 0
        x = F.pad(x, (p, p, p, p, front, 0))  # (B, C, front+T, H+2p, W+2p)
        if window == "next" and self.kernel == 3:
            assert self.tail is not None, "a 'next' window needs a 'first' one before it"
            # Trap (reference): a stride-2 temporal conv carries one frame, not two.
            x = torch.cat([self.tail if self.time_stride == 1 else self.tail[:, :, -1:], x], dim=2)
        self.tail = x[:, :, -2:].detach() if window != "whole" else None
        return self.conv(x)


class GroupNorm(nn.GroupNorm):
    """``CausalGroupNorm``: statistics per frame."""

    def forward(self, x: Tensor) -> Tensor:
        b, c, t, h, w = x.shape
        frames = x.transpose(1, 2).reshape(b * t, c, h, w)  # (B*T, C, H, W)
        return super().forward(frames).reshape(b, t, c, h, w).transpose(1, 2)


class ResBlock(nn.Module):
    """``CausalResnetBlock3D``: norm-silu-conv twice, 1x1x1 shortcut when widths differ."""

    def __init__(self, c_in: int, c_out: int, groups: int) -> None:
        super().__init__()
        self.norm1, self.conv1 = GroupNorm(groups, c_in, eps=1e-6), CausalConv3d(c_in, c_out)
        self.norm2, self.conv2 = GroupNorm(groups, c_out, eps=1e-6), CausalConv3d(c_out, c_out)
        self.conv_shortcut = CausalConv3d(c_in, c_out, kernel=1) if c_in != c_out else None

    def forward(self, x: Tensor, window: Window) -> Tensor:
        h = self.conv1(F.silu(self.norm1(x)), window)
        h = self.conv2(F.silu(self.norm2(h)), window)
        skip = self.conv_shortcut(x, window) if self.conv_shortcut is not None else x
        return skip + h


class FrameAttention(nn.Module):
    """diffusers' ``Attention`` as the mid block builds it: one head over each frame's
    pixels, group norm first, residual added (keys group_norm, to_q/k/v, to_out.0)."""

    def __init__(self, c: int, groups: int) -> None:
        super().__init__()
        self.group_norm = nn.GroupNorm(groups, c, eps=1e-6)
        self.to_q, self.to_k, self.to_v = nn.Linear(c, c), nn.Linear(c, c), nn.Linear(c, c)
        self.to_out = nn.ModuleList([nn.Linear(c, c), nn.Dropout(0.0)])

    def forward(self, x: Tensor) -> Tensor:
        b, c, t, h, w = x.shape
        frames = x.transpose(1, 2).reshape(b * t, c, h, w)  # (B*T, C, H, W)
        seq = self.group_norm(frames).flatten(2).transpose(1, 2)  # (B*T, HW, C)
        out = F.scaled_dot_product_attention(
            self.to_q(seq)[:, None], self.to_k(seq)[:, None], self.to_v(seq)[:, None]
        )
        out = self.to_out[0](out[:, 0]).transpose(1, 2).reshape(b * t, c, h, w)
        return (frames + out).reshape(b, t, c, h, w).transpose(1, 2)


class MidBlock(nn.Module):
    def __init__(self, c: int, groups: int) -> None:
        super().__init__()
        self.resnets = nn.ModuleList([ResBlock(c, c, groups), ResBlock(c, c, groups)])
        self.attentions = nn.ModuleList([FrameAttention(c, groups)])

    def forward(self, x: Tensor, window: Window) -> Tensor:
        return self.resnets[1](self.attentions[0](self.resnets[0](x, window)), window)


class Resample(nn.Module):
    """One of the four resamplers (key ``conv.conv``): down by a strided conv in space
    (1, 2, 2) or time (2, 1, 1); up by a conv to 4x (space) or 2x (time) channels,
    rearranged into pixels or frames. Up in time drops the first frame of the first window:
    latent frame 0 is one picture."""

    def __init__(self, c: int, kind: str) -> None:
        super().__init__()
        self.kind = kind
        stride = {"down_space": (1, 2, 2), "down_time": (2, 1, 1)}.get(kind, (1, 1, 1))
        mult = {"up_space": 4, "up_time": 2}.get(kind, 1)
        self.conv = CausalConv3d(c, c * mult, stride=stride)

    def forward(self, x: Tensor, window: Window) -> Tensor:
        y = self.conv(x, window)
        b, _, t, h, w = y.shape
        if self.kind == "up_space":
            y = (
                y.reshape(b, -1, 2, 2, t, h, w)
                .permute(0, 1, 4, 5, 2, 6, 3)
                .reshape(b, -1, t, 2 * h, 2 * w)
            )
        elif self.kind == "up_time":
            y = y.reshape(b, -1, 2, t, h, w).permute(0, 1, 3, 2, 4, 5).reshape(b, -1, 2 * t, h, w)
            y = y if window == "next" else y[:, :, 1:]  # (B, C, 2T-1, H, W) on the first window
        return y


class Stage(nn.Module):
    """A down block (resnets, then ``downsamplers`` / ``temporal_downsamplers``) or an up
    block (resnets, then ``upsamplers`` / ``temporal_upsamplers``)."""

    def __init__(
        self, c_in: int, c_out: int, *, layers: int, groups: int, up: bool, space: bool, time: bool
    ) -> None:
        super().__init__()
        self.resnets = nn.ModuleList(
            ResBlock(c_in if i == 0 else c_out, c_out, groups) for i in range(layers)
        )
        prefix = "up" if up else "down"
        self.names = (f"{prefix}samplers", f"temporal_{prefix}samplers")
        for name, kind, on in zip(self.names, ("space", "time"), (space, time), strict=True):
            if on:
                self.add_module(name, nn.ModuleList([Resample(c_out, f"{prefix}_{kind}")]))

    def forward(self, x: Tensor, window: Window) -> Tensor:
        for resnet in self.resnets:
            x = resnet(x, window)
        for name in self.names:
            if name in self._modules:
                x = self._modules[name][0](x, window)  # type: ignore[index]
        return x


class Encoder(nn.Module):
    """``CausalVaeEncoder``: (B, 3, 8k+1, H, W) -> (B, 2*latent, k+1, H/8, W/8) moments."""

    def __init__(self, cfg: CausalVAEConfig) -> None:
        super().__init__()
        widths, groups = cfg.encoder_block_out_channels, cfg.encoder_norm_num_groups
        self.conv_in = CausalConv3d(cfg.encoder_in_channels, widths[0])
        self.down_blocks = nn.ModuleList(
            Stage(
                widths[max(i - 1, 0)], widths[i], layers=cfg.encoder_layers_per_block[i],
                groups=groups, up=False, space=cfg.encoder_spatial_down_sample[i],
                time=cfg.encoder_temporal_down_sample[i],
            )
            for i in range(len(widths))
        )  # fmt: skip
        self.mid_block = MidBlock(widths[-1], groups)
        self.conv_norm_out = GroupNorm(groups, widths[-1], eps=1e-6)
        self.conv_out = CausalConv3d(widths[-1], 2 * cfg.encoder_out_channels)

    def forward(self, x: Tensor) -> Tensor:
        x = self.conv_in(x)
        for block in self.down_blocks:
            x = block(x, "whole")
        x = self.mid_block(x, "whole")
        return self.conv_out(F.silu(self.conv_norm_out(x)))


class Decoder(nn.Module):
    """``CausalVaeDecoder``: (B, latent, k+1, h, w) -> (B, 3, 8k+1, 8h, 8w) in [-1, 1]."""

    def __init__(self, cfg: CausalVAEConfig) -> None:
        super().__init__()
        widths, groups = cfg.decoder_block_out_channels[::-1], cfg.decoder_norm_num_groups
        self.conv_in = CausalConv3d(cfg.decoder_in_channels, widths[0])
        self.mid_block = MidBlock(widths[0], groups)
        self.up_blocks = nn.ModuleList(
            Stage(
                widths[max(i - 1, 0)], widths[i], layers=cfg.decoder_layers_per_block[i],
                groups=groups, up=True, space=cfg.decoder_spatial_up_sample[i],
                time=cfg.decoder_temporal_up_sample[i],
            )
            for i in range(len(widths))
        )  # fmt: skip
        self.conv_norm_out = GroupNorm(groups, widths[-1], eps=1e-6)
        self.conv_out = CausalConv3d(widths[-1], cfg.decoder_out_channels)

    def forward(self, z: Tensor, window: Window) -> Tensor:
        x = self.mid_block(self.conv_in(z, window), window)
        for block in self.up_blocks:
            x = block(x, window)
        return self.conv_out(F.silu(self.conv_norm_out(x)), window)


class CausalVideoVAE(nn.Module):
    def __init__(self, cfg: CausalVAEConfig) -> None:
        super().__init__()
        self.config = cfg
        latent = cfg.encoder_out_channels
        self.encoder, self.decoder = Encoder(cfg), Decoder(cfg)
        self.quant_conv = CausalConv3d(2 * latent, 2 * latent, kernel=1)
        self.post_quant_conv = CausalConv3d(latent, latent, kernel=1)

    def encode(self, pixels: Tensor, generator: torch.Generator | None) -> Tensor:
        """(B, 3, F, H, W) in [-1, 1] -> a sample of the posterior (B, latent, F', H/8, W/8)
        (``DiagonalGaussianDistribution.sample``: log-variance clamped to [-30, 20])."""
        mean, logvar = self.quant_conv(self.encoder(pixels)).chunk(2, dim=1)
        std = torch.exp(0.5 * logvar.clamp(-30.0, 20.0))
        noise = torch.randn(mean.shape, generator=generator, dtype=torch.float32).to(mean)
        return mean + std * noise

    def decode(self, z: Tensor, window: int = 2) -> Tensor:
        """(B, latent, T, h, w) -> (B, 3, 8(T-1)+1, 8h, 8w) in [-1, 1], ``window`` latent
        frames at a time after a first window of window+1 (``chunk_decode``)."""
        cuts = [0, *range(window + 1, z.shape[2], window), z.shape[2]]
        parts = []
        for i, (a, b) in enumerate(itertools.pairwise(cuts)):
            mode = "first" if i == 0 else "next"
            parts.append(self.decoder(self.post_quant_conv(z[:, :, a:b], mode), mode))
        return torch.cat(parts, dim=2)

    def decode_whole(self, z: Tensor) -> Tensor:
        """The same in one pass (more memory): what ``decode`` must equal."""
        return self.decoder(self.post_quant_conv(z), "whole")


def load_vae(folder: Path, dtype: torch.dtype) -> CausalVideoVAE:
    """The VAE from ``causal_video_vae/``."""
    from cinegen.engine.backends.pyramid_flow.weights import read_state_dict

    with torch.device("meta"):
        vae = CausalVideoVAE(CausalVAEConfig.from_file(folder / "config.json"))
    tensors = {_current_name(k): v for k, v in read_state_dict(folder, dtype).items()}
    vae.load_state_dict(tensors, strict=True, assign=True)
    return vae.eval()


# diffusers' older names of the mid-block attention's weights, which its from_pretrained
# (the reference's loader) still renames (``_convert_deprecated_attention_blocks``).
_OLD_ATTENTION = {"query": "to_q", "key": "to_k", "value": "to_v", "proj_attn": "to_out.0"}


def _current_name(key: str) -> str:
    parts = key.split(".")
    if "attentions" in parts and len(parts) >= 2 and parts[-2] in _OLD_ATTENTION:
        return ".".join([*parts[:-2], _OLD_ATTENTION[parts[-2]], parts[-1]])
    return key
