"""cinegen-tiny-audio: the small network that hears cinegen-tiny's pictures.

Finished frames, any count, size and aspect, are brought to ``IN_FRAMES`` frames of
``IN_SIZE`` square pixels at even steps of normalised clip time (``prepare``): the video
model always stretches its 16 native frames over the whole clip, so that grid recovers them
whatever the fps. A per-frame convolutional encoder (with two coordinate channels, so
position is easy to read) feeds dilated temporal convolutions on ``sound.STEPS`` points;
heads give, per step and per colour voice, the synthesiser's controls (``sound.Controls``:
amplitude, pan, height, knock) and, per voice, a timbre over the four shapes. A voice per
colour means two objects never compete for one output; which voices sound, and so which
pitches, the network decides from pixels alone.

The bundle (``cinegen-tiny-audio.safetensors`` and its ``.json`` record with the sha256,
checked before reading) ships in ``shipped/`` and is written and read by the video model's
``weights.write_bundle`` and ``weights.read_bundle``.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from cinegen.models.tiny import sound
from cinegen.models.tiny.weights import SHIPPED, BundleFiles, read_bundle, write_bundle

FILES = BundleFiles("cinegen-tiny-audio", "cinegen train-tiny-audio")
WEIGHTS_NAME = FILES.weights
RECORD_NAME = FILES.record
MAX_BYTES = 10 * 1024 * 1024
IN_FRAMES, IN_SIZE = 16, 32
POOL_TO = 64  # the video model's native size
CONTROLS = 4  # per step and voice: amplitude, pan, height, knock (Controls.stacked order)


@dataclass(frozen=True)
class AudioNetConfig:
    width: int = 160  # temporal channels
    blocks: int = 4  # dilated temporal residual blocks (dilations 1, 2, 4, 8, ...)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


class SoundNet(nn.Module):
    coords: Tensor  # (1, 2, IN_SIZE, IN_SIZE): x and y in [-1, 1], a buffer

    def __init__(self, config: AudioNetConfig) -> None:
        super().__init__()
        w = config.width
        self.frames = nn.Sequential(
            nn.Conv2d(5, 32, 3, stride=2, padding=1),
            nn.GELU(),
            nn.Conv2d(32, 64, 3, stride=2, padding=1),
            nn.GELU(),
            nn.Conv2d(64, 96, 3, stride=2, padding=1),
            nn.GELU(),
            nn.Flatten(),
            nn.Linear(96 * (IN_SIZE // 8) ** 2, w),
        )
        self.blocks = nn.ModuleList(
            nn.Conv1d(w, w, 5, padding=2 * 2**i, dilation=2**i) for i in range(config.blocks)
        )
        self.norms = nn.ModuleList(nn.GroupNorm(8, w) for _ in range(config.blocks))
        self.per_step = nn.Conv1d(w, sound.VOICES * CONTROLS, 1)
        self.per_clip = nn.Linear(w, sound.VOICES * len(sound.SHAPES))
        ys, xs = torch.meshgrid(
            torch.linspace(-1, 1, IN_SIZE), torch.linspace(-1, 1, IN_SIZE), indexing="ij"
        )
        self.register_buffer("coords", torch.stack([xs, ys])[None], persistent=False)

    def forward(self, frames: Tensor) -> tuple[Tensor, Tensor]:
        """frames (B, IN_FRAMES, 3, IN_SIZE, IN_SIZE) in [-1, 1] -> per-step controls, raw
        (B, VOICES, CONTROLS, STEPS), and timbre logits (B, VOICES, 4)."""
        b, f = frames.shape[:2]
        x = frames.flatten(0, 1)  # (B*F, 3, S, S)
        x = torch.cat([x, self.coords.expand(len(x), -1, -1, -1)], 1)  # (B*F, 5, S, S)
        h = self.frames(x).view(b, f, -1).transpose(1, 2)  # (B, W, F)
        h = F.interpolate(h, size=sound.STEPS, mode="linear", align_corners=True)  # (B, W, T)
        for conv, norm in zip(self.blocks, self.norms, strict=True):
            h = h + conv(F.gelu(norm(h)))  # (B, W, T)
        steps = self.per_step(F.gelu(h))  # (B, VOICES*CONTROLS, T)
        steps = steps.view(b, sound.VOICES, CONTROLS, -1)  # (B, VOICES, CONTROLS, T)
        shapes = self.per_clip(h.mean(-1)).view(b, sound.VOICES, -1)  # (B, VOICES, 4)
        return steps, shapes


def prepare(frames: np.ndarray) -> Tensor:
    """Finished frames (F, H, W, 3) uint8 -> (IN_FRAMES, 3, IN_SIZE, IN_SIZE) in [-1, 1]:
    linear blends at IN_FRAMES even steps of the clip (the endpoints are the first and last
    frames), then an antialiased resize (any aspect squashed to a square). Frames larger
    than the video model's 64 pixels are first brought down to at most 64 a side (all the
    detail they hold): resizing full-HD frames directly costs a tenth of a second and more."""
    n = len(frames)
    positions = np.linspace(0, n - 1, IN_FRAMES)
    lower = np.floor(positions).astype(np.int64)
    upper = np.minimum(lower + 1, n - 1)
    needed = np.union1d(lower, upper)
    # Every other pixel of twice the model's size and up is still all its detail: a strided
    # view first, so that only those pixels of the needed frames are copied.
    sy, sx = max(1, frames.shape[1] // (2 * POOL_TO)), max(1, frames.shape[2] // (2 * POOL_TO))
    picked = np.ascontiguousarray(frames[:, ::sy, ::sx][needed])  # (K, H', W', 3)
    x = torch.from_numpy(picked).permute(0, 3, 1, 2).float()  # (K, 3, H', W')
    if x.shape[2] > POOL_TO or x.shape[3] > POOL_TO:  # (K, 3, H, W) -> (K, 3, <=64, <=64)
        x = F.adaptive_avg_pool2d(x, (min(x.shape[2], POOL_TO), min(x.shape[3], POOL_TO)))
    at = {int(k): i for i, k in enumerate(needed)}
    w = torch.from_numpy((positions - lower).astype(np.float32)).view(-1, 1, 1, 1)
    lo = x[[at[int(k)] for k in lower]]  # (IN_FRAMES, 3, h, w)
    hi = x[[at[int(k)] for k in upper]]
    blend = lo * (1 - w) + hi * w  # (IN_FRAMES, 3, h, w)
    small = F.interpolate(blend, size=(IN_SIZE, IN_SIZE), mode="bilinear", antialias=True)
    return small.div(127.5).sub(1)  # (IN_FRAMES, 3, IN_SIZE, IN_SIZE)


GATE = 0.3  # of the loudest voice's peak: a voice that never reaches it stays silent


def to_controls(steps: Tensor, shapes: Tensor) -> sound.Controls:
    """One clip's raw outputs (VOICES, CONTROLS, STEPS), (VOICES, 4) -> ``sound.Controls``.
    Voices far quieter than the loudest are the network's doubt, not an object: silenced."""
    s = steps.float().cpu()
    amplitude = F.relu(s[:, 0])
    peaks = amplitude.amax(-1, keepdim=True)  # (VOICES, 1)
    amplitude = amplitude * (peaks >= GATE * peaks.max())
    return sound.Controls(
        amplitude=amplitude.numpy(),
        pan=s[:, 1].clamp(-1, 1).numpy(),
        height=s[:, 2].clamp(0, 1).numpy(),
        shape=shapes.float().softmax(-1).cpu().numpy(),
        knock=s[:, 3].sigmoid().numpy(),
    )


def count_parameters(module: nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())


def export(directory: Path, config: AudioNetConfig, net: SoundNet, record: dict[str, Any]) -> Path:
    """Write the bundle (float16 weights) into ``directory``; returns the weight file."""
    tensors = {k: v.detach().half().contiguous() for k, v in net.state_dict().items()}
    return write_bundle(
        directory,
        FILES,
        tensors=tensors,
        config=config.to_dict(),
        record=record,
        max_bytes=MAX_BYTES,
    )


def load(directory: Path | None = None) -> tuple[SoundNet, dict[str, Any]]:
    """The bundle in ``directory`` (default: shipped), checked, float32, for inference."""
    tensors, record = read_bundle(directory or SHIPPED, FILES)
    net = SoundNet(AudioNetConfig(**record["config"]))
    net.load_state_dict({k: v.float() for k, v in tensors.items()})
    return net.eval().requires_grad_(False), record
