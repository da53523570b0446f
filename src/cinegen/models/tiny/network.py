"""cinegen-tiny's two networks: a per-frame autoencoder and a latent video DiT.

The autoencoder squeezes a 64 x 64 toy-world frame into an 8 x 8 x 8 latent (a 24x smaller
array) and draws it back; it is trained first, on frames alone. The diffusion transformer then
learns rectified flow on clips of those latents (16 x 8 x 8 x 8), text-conditioned through
cross-attention on a frozen sentence encoder's token states (``text.py``). Working on latents
is what lets it learn shapes and motion on a CPU's budget: the decoder draws the edges, the
transformer only places and moves compact codes (``NOTES.md``: a pixel-patch DiT of the same
cost drew scattered blocks after an hour).

Every DiT input token also carries *given* latents and their mask, so one network samples
text-to-video, continues given frames (image-to-video, extension) and repaints a masked region
(inpaint): training shows it all four (``flow.condition_for_training``).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import asdict, dataclass, fields
from typing import Any, cast

import torch
import torch.nn.functional as F
from torch import Tensor, nn


@dataclass(frozen=True)
class TinyConfig:
    """Shapes of both networks; stored beside the weights so a checkpoint describes itself."""

    frames: int = 16  # native clip length
    size: int = 64  # native frame side (square)
    latent_channels: int = 8
    latent_down: int = 8  # frame side / latent side
    ae_width: int = 64  # autoencoder channels at 16 x 16 (twice that at 8 x 8)
    width: int = 256  # transformer width
    depth: int = 8
    heads: int = 4
    patch_t: int = 2  # latent frames per token
    patch_s: int = 2  # latent pixels per token side
    text_dim: int = 384  # the sentence encoder's hidden size

    @property
    def latent_size(self) -> int:
        return self.size // self.latent_down

    @property
    def latent_shape(self) -> tuple[int, int, int, int]:
        """(frames, channels, height, width) of one clip's latents."""
        s = self.latent_size
        return (self.frames, self.latent_channels, s, s)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TinyConfig:
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in known})


# --- autoencoder ---------------------------------------------------------------------------
class ResBlock(nn.Module):
    def __init__(self, channels: int) -> None:
        super().__init__()
        self.norm1 = nn.GroupNorm(8, channels)
        self.conv1 = nn.Conv2d(channels, channels, 3, padding=1)
        self.norm2 = nn.GroupNorm(8, channels)
        self.conv2 = nn.Conv2d(channels, channels, 3, padding=1)

    def forward(self, x: Tensor) -> Tensor:
        h = self.conv1(F.silu(self.norm1(x)))
        out: Tensor = x + self.conv2(F.silu(self.norm2(h)))
        return out


class AutoEncoder(nn.Module):
    """Frames (N, 3, 64, 64) in [-1, 1] <-> latents (N, C, 8, 8), unit scale.

    Pixel (un)shuffle moves 4 x 4 pixel cells into channels, so no convolution runs at full
    resolution: the toy world's flat colours and sharp edges need no more.

    Convolutions cannot tell where they are, so detail fixed in place (the night sky's
    one-pixel stars) would have to be squeezed through the latents, and is lost. The decoder
    therefore adds ``detail``, a learned image of what is always at a place, wherever its
    ``detail_gate`` says it shows (at night, where no object covers it; per pixel).
    ``detail`` is zero through training stage 1, so it starts as the plain decoder; stage 2
    learns it with the decoder (``train_autoencoder.py``).
    """

    def __init__(self, config: TinyConfig) -> None:
        super().__init__()
        w, c = config.ae_width, config.latent_channels
        self.encoder = nn.Sequential(
            nn.PixelUnshuffle(4),
            nn.Conv2d(48, w, 3, padding=1),
            ResBlock(w),
            nn.Conv2d(w, 2 * w, 3, stride=2, padding=1),
            ResBlock(2 * w),
            ResBlock(2 * w),
            nn.GroupNorm(8, 2 * w),
            nn.SiLU(),
            nn.Conv2d(2 * w, c, 1),
        )
        self.decoder = nn.Sequential(
            nn.Conv2d(c, 2 * w, 3, padding=1),
            ResBlock(2 * w),
            ResBlock(2 * w),
            nn.Upsample(scale_factor=2, mode="nearest"),
            nn.Conv2d(2 * w, w, 3, padding=1),
            ResBlock(w),
            ResBlock(w),
            nn.GroupNorm(8, w),
            nn.SiLU(),
            nn.Conv2d(w, 48, 3, padding=1),
            nn.PixelShuffle(4),
        )
        self.detail = nn.Parameter(torch.zeros(1, 3, config.size, config.size))
        self.detail_gate = nn.Sequential(nn.Conv2d(w, 16, 1), nn.PixelShuffle(4))

    def load_state_dict(
        self, state_dict: Mapping[str, Any], strict: bool = True, assign: bool = False
    ) -> Any:
        """As ``nn.Module``'s, except that a state without the detail image (a bundle saved
        before the decoder had one, a stage-1 checkpoint) keeps this module's own ``detail``
        and gate: on a fresh module the detail is zero, so it decodes exactly as it did."""
        own = {k: v for k, v in self.state_dict().items() if k.startswith("detail")}
        return super().load_state_dict({**own, **state_dict}, strict=strict, assign=assign)

    def encode(self, frames: Tensor) -> Tensor:
        return cast(Tensor, self.encoder(frames))

    def decode(self, latents: Tensor) -> Tensor:
        features = self.decoder[:-2](latents)  # (N, w, 16, 16), normalised and activated
        pixels = self.decoder[-2:](features)
        shows = torch.sigmoid(self.detail_gate(features))  # (N, 1, size, size)
        return cast(Tensor, pixels + shows * self.detail)


# --- diffusion transformer ---------------------------------------------------------------
def timestep_embedding(t: Tensor, dim: int) -> Tensor:
    """Sinusoidal features of flow time ``t`` in [0, 1], (B,) -> (B, dim).

    The Transformer's sinusoids (Vaswani et al. 2017, arXiv:1706.03762) laid out as DiT's
    ``TimestepEmbedder`` lays them out (cos half, then sin half; periods up to 10,000), after
    scaling ``t`` by 1000 to the range of the integer steps 0..999 that DiT feeds it.
    """
    half = dim // 2
    freqs = torch.exp(-math.log(10000.0) * torch.arange(half, device=t.device) / half)  # (dim/2,)
    angles = 1000.0 * t.float()[:, None] * freqs[None]  # (B, dim/2)
    return torch.cat([torch.cos(angles), torch.sin(angles)], dim=1)  # (B, dim)


class Attention(nn.Module):
    """Multi-head scaled dot-product attention, softmax(q kᵀ / √d) v (Vaswani et al. 2017):
    self-attention when no ``context`` is given, else cross-attention to it. Shape letters as
    in ``VideoDiT``; here N counts the queries and M the keys."""

    def __init__(self, width: int, heads: int, context_dim: int | None = None) -> None:
        super().__init__()
        self.heads = heads
        self.q = nn.Linear(width, width)
        self.kv = nn.Linear(context_dim or width, 2 * width)
        self.out = nn.Linear(width, width)

    def forward(
        self, x: Tensor, context: Tensor | None = None, mask: Tensor | None = None
    ) -> Tensor:
        b, n, w = x.shape  # x: (B, N, D)
        ctx = x if context is None else context  # (B, M, D)
        q = self.q(x).view(b, n, self.heads, -1).transpose(1, 2)  # (B, heads, N, D/heads)
        # (B, M, 2D) -> (B, M, 2, heads, D/heads) -> 2 x (B, heads, M, D/heads)
        k, v = self.kv(ctx).view(b, ctx.shape[1], 2, self.heads, -1).permute(2, 0, 3, 1, 4)
        # Written out: at a few hundred tokens this is faster on a CPU than the fused kernel,
        # whose backward pass dominated a training step.
        scores = (q @ k.transpose(-2, -1)) * (q.shape[-1] ** -0.5)  # (B, heads, N, M)
        if mask is not None:  # (B, M) True on real tokens; padding keys get no weight
            scores = scores.masked_fill(~mask[:, None, None, :], float("-inf"))
        y = scores.softmax(dim=-1) @ v  # (B, heads, N, D/heads)
        # (B, N, heads, D/heads) -> (B, N, D)
        return cast(Tensor, self.out(y.transpose(1, 2).reshape(b, n, w)))


class Block(nn.Module):
    """Self-attention over the clip's tokens, cross-attention to the prompt, an MLP::

        β1, γ1, α1, β2, γ2, α2 = Linear(SiLU(cond))         (zero-initialised)
        x = x + α1 · SelfAttn(LN(x) · (1 + γ1) + β1)
        x = x + CrossAttn(LN'(x), text)
        x = x + α2 · MLP(LN(x) · (1 + γ2) + β2)

    Self-attention and MLP are DiT's adaLN-Zero block (Peebles & Xie 2023, "Scalable
    Diffusion Models with Transformers", arXiv:2212.09748; facebookresearch/DiT ``DiTBlock``):
    shift β, scale γ and gate α come from flow time and the pooled prompt, and the zero
    initialisation starts both branches switched off (α = 0). Cross-attention sits between
    them, unmodulated and ungated, as in PixArt-α (Chen et al. 2023, arXiv:2310.00426); here
    behind a LayerNorm of its own (LN', with affine weights)."""

    def __init__(self, width: int, heads: int) -> None:
        super().__init__()
        self.norm1 = nn.LayerNorm(width, elementwise_affine=False, eps=1e-6)
        self.attn = Attention(width, heads)
        self.norm2 = nn.LayerNorm(width, eps=1e-6)
        self.cross = Attention(width, heads, context_dim=width)
        self.norm3 = nn.LayerNorm(width, elementwise_affine=False, eps=1e-6)
        self.mlp = nn.Sequential(
            nn.Linear(width, 4 * width), nn.GELU(approximate="tanh"), nn.Linear(4 * width, width)
        )
        self.modulation = nn.Linear(width, 6 * width)
        nn.init.zeros_(self.modulation.weight)
        nn.init.zeros_(self.modulation.bias)

    def forward(self, x: Tensor, cond: Tensor, text: Tensor, text_mask: Tensor) -> Tensor:
        # x: (B, N, D), cond: (B, D), text: (B, L, D), text_mask: (B, L)
        # (B, 6D) -> six (B, D); [:, None] below broadcasts each over the N tokens
        shift1, scale1, gate1, shift2, scale2, gate2 = self.modulation(F.silu(cond)).chunk(6, 1)
        h = self.norm1(x) * (1 + scale1[:, None]) + shift1[:, None]  # (B, N, D)
        x = x + gate1[:, None] * self.attn(h)  # (B, N, D)
        x = x + self.cross(self.norm2(x), text, text_mask)  # (B, N, D), attending to L tokens
        h = self.norm3(x) * (1 + scale2[:, None]) + shift2[:, None]  # (B, N, D)
        out: Tensor = x + gate2[:, None] * self.mlp(h)  # (B, N, 4D) inside -> (B, N, D)
        return out


class VideoDiT(nn.Module):
    """Predicts the rectified-flow velocity of a latent clip (the sampler: ``flow.py``).

    Inputs per clip: noisy latents ``x`` (B, F, C, H, W), the given latents ``known`` and
    ``known_mask`` (B, F, 1, H, W) marking them (zeros when nothing is given), flow time ``t``
    (B,), and the prompt's token states (B, L, E) with their padding mask (B, L).

    Shape letters, here and in ``Block`` and ``Attention``:
    B clips; F latent frames, C latent channels, H x W latent side (16, 8, 8 x 8 by default);
    pt, ps the patch's frames and side (``patch_t``, ``patch_s``); T', H', W' = F/pt, H/ps,
    W/ps the token grid; N = T' * H' * W' tokens; D the width; L prompt tokens; E the text
    encoder's width (``text_dim``).

    A token is one pt x ps x ps tubelet of latents flattened and mapped by one linear layer:
    ViViT's tubelet embedding (Arnab et al. 2021, arXiv:2103.15691; a linear over disjoint
    patches equals its strided 3D convolution). Positions are learned per axis and summed
    (time + row + column). The output layer is DiT's final layer (adaLN shift and scale,
    then a linear; both zero-initialised, so training starts from zero velocity).
    """

    def __init__(self, config: TinyConfig) -> None:
        super().__init__()
        self.config = config
        c, w = config.latent_channels, config.width
        pt, ps = config.patch_t, config.patch_s
        self.grid = (config.frames // pt, config.latent_size // ps, config.latent_size // ps)
        self.patch_in = nn.Linear(pt * ps * ps * (2 * c + 1), w)
        self.pos_t = nn.Parameter(torch.randn(self.grid[0], w) * 0.02)
        self.pos_h = nn.Parameter(torch.randn(self.grid[1], w) * 0.02)
        self.pos_w = nn.Parameter(torch.randn(self.grid[2], w) * 0.02)
        self.time_mlp = nn.Sequential(nn.Linear(w, w), nn.SiLU(), nn.Linear(w, w))
        self.text_proj = nn.Sequential(nn.LayerNorm(config.text_dim), nn.Linear(config.text_dim, w))
        self.pooled_mlp = nn.Sequential(nn.Linear(config.text_dim, w), nn.SiLU(), nn.Linear(w, w))
        self.blocks = nn.ModuleList(Block(w, config.heads) for _ in range(config.depth))
        self.norm_out = nn.LayerNorm(w, elementwise_affine=False, eps=1e-6)
        self.modulation_out = nn.Linear(w, 2 * w)
        self.patch_out = nn.Linear(w, pt * ps * ps * c)
        for layer in (self.modulation_out, self.patch_out):
            nn.init.zeros_(layer.weight)
            nn.init.zeros_(layer.bias)

    def _patchify(self, x: Tensor) -> Tensor:
        b, f, c, h, w = x.shape  # (B, F, C, H, W); C is any channel count here
        pt, ps = self.config.patch_t, self.config.patch_s
        x = x.view(b, f // pt, pt, c, h // ps, ps, w // ps, ps)  # (B, T', pt, C, H', ps, W', ps)
        x = x.permute(0, 1, 4, 6, 2, 3, 5, 7)  # (B, T', H', W', pt, C, ps, ps)
        # -> (B, N, pt*C*ps*ps)
        return x.reshape(b, (f // pt) * (h // ps) * (w // ps), pt * c * ps * ps)

    def _unpatchify(self, tokens: Tensor) -> Tensor:
        b = tokens.shape[0]  # tokens: (B, N, pt*C*ps*ps)
        pt, ps, c = self.config.patch_t, self.config.patch_s, self.config.latent_channels
        gt, gh, gw = self.grid  # T', H', W'
        # (B, T', H', W', pt, C, ps, ps) -> (B, T', pt, C, H', ps, W', ps)
        x = tokens.view(b, gt, gh, gw, pt, c, ps, ps).permute(0, 1, 4, 5, 2, 6, 3, 7)
        return x.reshape(b, gt * pt, c, gh * ps, gw * ps)  # (B, F, C, H, W)

    def forward(
        self,
        x: Tensor,
        t: Tensor,
        known: Tensor,
        known_mask: Tensor,
        text: Tensor,
        text_mask: Tensor,
    ) -> Tensor:
        """-> the velocity (B, F, C, H, W)."""
        # (B, F, 2C+1, H, W) -> (B, N, pt*(2C+1)*ps*ps) -> (B, N, D)
        tokens = self.patch_in(self._patchify(torch.cat([x, known, known_mask], dim=2)))
        gt, gh, gw = self.grid
        # (T', 1, 1, D) + (1, H', 1, D) + (1, 1, W', D) -> (T', H', W', D)
        pos = self.pos_t[:, None, None] + self.pos_h[None, :, None] + self.pos_w[None, None, :]
        tokens = tokens + pos.reshape(gt * gh * gw, -1)  # + (N, D), the same for every clip
        # The prompt's mean over its real tokens: (B, L, E) -> (B, E); an empty mask divides by 1.
        lengths = text_mask.sum(1, keepdim=True).clamp(min=1)  # (B, 1)
        pooled = (text * text_mask[..., None]).sum(1) / lengths  # (B, E)
        # (B, D): flow time's features plus the pooled prompt, the blocks' adaLN input
        cond = self.time_mlp(timestep_embedding(t, self.config.width)) + self.pooled_mlp(pooled)
        context = self.text_proj(text)  # (B, L, E) -> (B, L, D)
        for block in self.blocks:
            tokens = block(tokens, cond, context, text_mask)  # (B, N, D)
        shift, scale = self.modulation_out(F.silu(cond)).chunk(2, 1)  # two (B, D)
        tokens = self.norm_out(tokens) * (1 + scale[:, None]) + shift[:, None]  # (B, N, D)
        # (B, N, D) -> (B, N, pt*C*ps*ps) -> (B, F, C, H, W)
        return self._unpatchify(self.patch_out(tokens))


def count_parameters(module: nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())
