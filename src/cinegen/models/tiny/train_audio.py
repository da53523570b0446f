"""``cinegen train-tiny-audio``: cinegen-tiny-audio from nothing, on a CPU, resumable.

Each step draws ``batch`` training-split scenes (``toyworld``; the held-out combinations
never appear) and shows the network what the video model would deliver for them:

1. **the model's blur**: half the clips come from a pool of renders put once through
   cinegen-tiny's own autoencoder (every generated frame is that decoder's output), the
   rest are clean renders, both with random blur, noise and contrast;
2. **the engine's stretch and crop**: the 16 frames stretched to 16..``MAX_STRETCH``
   frames and centre-cropped to a random aspect by the engine's own ``resample_video``,
   then brought back by ``audionet.prepare`` exactly as at inference;
3. **targets**: ``sound.design`` of the scene as that crop shows it.

The loss sums, per colour voice: amplitude error (every voice: silence is a target too),
and, where the voice sounds, pan and height error, knock (binary cross-entropy on the
bumps) and timbre (cross-entropy over shapes). Batches come from ``(seed, step)`` alone and
the checkpoint holds the weights and the optimiser, so a resumed run ends where an unbroken
one would. Every invocation is appended to ``runs.json``; the bundle's record lists them.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor

from cinegen.media.resample import resample_video
from cinegen.models.tiny import audionet, sound
from cinegen.models.tiny.audionet import AudioNetConfig, SoundNet
from cinegen.models.tiny.checkpoint import Checkpoint, RunLog, due
from cinegen.models.tiny.scene import Scene
from cinegen.models.tiny.toyworld import Split, render_clip, sample_scene

Progress = Callable[[int, int, dict[str, float]], None]
MAX_STRETCH = 150  # output frames the 16 native ones are stretched to, at most
AMPLITUDE_SCALE = 0.2  # amplitudes are errors in units of a typical voice's amplitude


@dataclass(frozen=True)
class AudioTrainSettings:
    workdir: Path
    seed: int = 0
    config: AudioNetConfig = field(default_factory=AudioNetConfig)
    steps: int = 4000
    batch: int = 32
    lr: float = 1e-3
    warmup: int = 100
    pool: int = 1024  # training renders put through the video model's autoencoder once
    checkpoint_every: int = 100
    threads: int | None = None


def _rng(seed: int, step: int) -> np.random.Generator:
    return np.random.default_rng([seed, 77, step])


# --- data ----------------------------------------------------------------------------------
def decoded_pool(settings: AudioTrainSettings) -> tuple[list[Scene], np.ndarray]:
    """``settings.pool`` training scenes and their renders after cinegen-tiny's autoencoder,
    (N, 16, 64, 64, 3) uint8, made once and kept in the work directory."""
    rng = np.random.default_rng([settings.seed, 78])  # the pool: apart from every step
    scenes = [sample_scene(rng) for _ in range(settings.pool)]
    path = settings.workdir / "pool.npy"
    if path.exists():
        return scenes, np.load(path)
    from cinegen.models.tiny.weights import load

    ae = load().autoencoder
    clips = np.stack([render_clip(s) for s in scenes])
    out = np.empty_like(clips)
    with torch.no_grad():
        for i in range(0, len(clips), 64):
            x = torch.from_numpy(clips[i : i + 64]).flatten(0, 1).permute(0, 3, 1, 2)
            y = ae.decode(ae.encode(x.float().div(127.5).sub(1))).clamp(-1, 1)
            y = y.add(1).mul(127.5).round().byte().permute(0, 2, 3, 1)  # (N*16, 64, 64, 3)
            out[i : i + 64] = y.reshape(-1, *clips.shape[1:]).numpy()
    tmp = path.with_suffix(".tmp.npy")
    np.save(tmp, out)
    os.replace(tmp, path)
    return scenes, out


def _degrade(clip: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Random blur, noise and contrast: (16, 64, 64, 3) uint8 -> float in [0, 1]."""
    x = clip.astype(np.float32) / 255
    if rng.random() < 0.4:
        sigma = float(rng.uniform(0.4, 1.4))
        x = _blur(x, sigma)
    x = (x - 0.5) * float(rng.uniform(0.9, 1.1)) + 0.5 + float(rng.uniform(-0.04, 0.04))
    x = x + rng.normal(0, float(rng.uniform(0, 0.025)), x.shape).astype(np.float32)
    return np.clip(x, 0, 1)


def _blur(x: np.ndarray, sigma: float) -> np.ndarray:
    """A Gaussian blur of ``sigma`` pixels over (F, H, W, 3) frames, edges repeated."""
    radius = max(1, round(3 * sigma))
    taps = np.exp(-0.5 * (np.arange(-radius, radius + 1) / sigma) ** 2)
    kernel = torch.from_numpy((taps / taps.sum()).astype(np.float32))
    t = torch.from_numpy(x).permute(0, 3, 1, 2).reshape(-1, 1, *x.shape[1:3])  # (F*3, 1, H, W)
    t = F.pad(t, (radius, radius, radius, radius), mode="replicate")
    t = F.conv2d(F.conv2d(t, kernel.view(1, 1, 1, -1)), kernel.view(1, 1, -1, 1))
    blurred: np.ndarray = t.reshape(x.shape[0], 3, *x.shape[1:3]).permute(0, 2, 3, 1).numpy()
    return blurred


def _view(rng: np.random.Generator) -> tuple[int, int, int]:
    """Output frames, width and height of a random delivery of a 64x64 clip."""
    n = 16 if rng.random() < 0.2 else int(rng.integers(16, MAX_STRETCH + 1))
    if rng.random() < 0.5:
        return n, 64, 64
    keep = int(rng.integers(32, 64))
    return (n, 64, keep) if rng.random() < 0.7 else (n, keep, 64)


def example(
    scene: Scene, clip: np.ndarray, rng: np.random.Generator
) -> tuple[Tensor, sound.Controls]:
    """One training pair: the network's input from ``clip`` as delivered, and its targets."""
    n, width, height = _view(rng)
    frames = resample_video(_degrade(clip, rng), n, width, height)
    crop_x, crop_y = (64 - width) // 2 / 64, (64 - height) // 2 / 64
    box = (crop_x, crop_y, 1 - crop_x, 1 - crop_y)  # resample's centre crop, as fractions
    return audionet.prepare(frames), sound.design(scene, box)


def batch(
    settings: AudioTrainSettings, step: int, pool: tuple[list[Scene], np.ndarray]
) -> tuple[Tensor, Tensor, Tensor]:
    """Inputs (B, 16, 3, 32, 32), per-step targets (B, VOICES, 4, STEPS), timbres (B, VOICES, 4)."""
    rng = _rng(settings.seed, step)
    inputs, steps, shapes = [], [], []
    for _ in range(settings.batch):
        if rng.random() < 0.5:
            i = int(rng.integers(len(pool[0])))
            scene, clip = pool[0][i], pool[1][i]
        else:
            scene = sample_scene(rng, "train")
            clip = render_clip(scene)
        x, target = example(scene, clip, rng)
        inputs.append(x)
        steps.append(torch.from_numpy(target.stacked()))
        shapes.append(torch.from_numpy(target.shape))
    return torch.stack(inputs), torch.stack(steps), torch.stack(shapes)


# --- loss and training ---------------------------------------------------------------------
def loss_terms(
    predicted: tuple[Tensor, Tensor], target_steps: Tensor, target_shapes: Tensor
) -> dict[str, Tensor]:
    steps, shape_logits = predicted
    sounding = (target_steps[:, :, 0].amax(-1) > 0).float()  # (B, VOICES)
    per_step = sounding[..., None]  # (B, VOICES, 1)
    n = sounding.sum().clamp(min=1) * steps.shape[-1]

    def masked(err: Tensor) -> Tensor:
        return (err * per_step).sum() / n

    knock = F.binary_cross_entropy_with_logits(
        steps[:, :, 3], target_steps[:, :, 3], reduction="none"
    )
    timbre = F.cross_entropy(shape_logits.flatten(0, 1), target_shapes.flatten(0, 1).argmax(-1))
    return {
        "amplitude": (steps[:, :, 0] - target_steps[:, :, 0]).abs().mean() / AMPLITUDE_SCALE,
        "pan": masked((steps[:, :, 1] - target_steps[:, :, 1]).abs()),
        "height": masked((steps[:, :, 2] - target_steps[:, :, 2]).abs()),
        "knock": 4 * masked(knock),
        "timbre": (timbre * sounding.flatten()).sum() / sounding.sum().clamp(min=1),
    }


def _lr(settings: AudioTrainSettings, step: int) -> float:
    if step < settings.warmup:
        return settings.lr * (step + 1) / settings.warmup
    progress = (step - settings.warmup) / max(1, settings.steps - settings.warmup)
    return settings.lr * (0.05 + 0.95 * 0.5 * (1 + math.cos(math.pi * progress)))


def fit(settings: AudioTrainSettings, progress: Progress) -> tuple[SoundNet, list[float]]:
    """Train (or resume) to ``settings.steps``; returns the network and this run's losses."""
    torch.manual_seed(settings.seed)
    net = SoundNet(settings.config)
    opt = torch.optim.AdamW(net.parameters(), lr=settings.lr, weight_decay=0.01)
    checkpoint = Checkpoint(
        settings.workdir / "audio.pt", opt, every=settings.checkpoint_every, model=net
    )
    step, losses = checkpoint.resume()["step"], []
    pool = decoded_pool(settings)
    net.train()
    while step < settings.steps:
        for group in opt.param_groups:
            group["lr"] = _lr(settings, step)
        x, target_steps, target_shapes = batch(settings, step, pool)
        terms = loss_terms(net(x), target_steps, target_shapes)
        loss = sum(terms.values(), torch.zeros(()))
        opt.zero_grad(set_to_none=True)
        loss.backward()  # type: ignore[no-untyped-call]
        torch.nn.utils.clip_grad_norm_(net.parameters(), 1.0)
        opt.step()
        step += 1
        losses.append(loss.item())
        progress(step, settings.steps, {k: v.item() for k, v in terms.items()})
        checkpoint.save_if_due(step, settings.steps)
    return net.eval(), losses


def check(net: SoundNet, seed: int, clips: int = 64, split: Split = "heldout") -> dict[str, float]:
    """On ``split`` renders (clean, stretched and cropped at random): the share of clips whose
    loudest voice is the object's colour, and the mean knock-time error in steps."""
    rng = np.random.default_rng([seed, 99])
    right, errors = 0, []
    for _ in range(clips):
        scene = sample_scene(rng, split, n_objects=1)
        x, target = example(scene, render_clip(scene), rng)
        with torch.no_grad():
            steps, shapes = net(x[None])
        got = audionet.to_controls(steps[0], shapes[0])
        v = sound.COLORS.index(scene.objects[0].color)
        right += int(np.argmax(got.amplitude.max(-1)) == v)
        want = sound.knock_times(target.knock[v])
        heard = sound.knock_times(got.knock[v])
        for t in want:
            near = min((abs(h - t) for h in heard), default=1.0)
            errors.append(near * (sound.STEPS - 1))
    return {
        "colour_voice": right / clips,
        "knock_error_steps": float(np.median(errors)) if errors else 0.0,
    }


def train(
    settings: AudioTrainSettings,
    progress: Progress,
    out: Path | None = None,
    command: str = "cinegen train-tiny-audio",
) -> Path:
    """Run (or resume) the training and write the bundle to ``out`` (default WORKDIR/bundle)."""
    settings.workdir.mkdir(parents=True, exist_ok=True)
    if settings.threads:
        torch.set_num_threads(settings.threads)
    skip = {"workdir", "config", "threads", "checkpoint_every"}
    kept = {k: v for k, v in asdict(settings).items() if k not in skip}
    steps: list[int] = []  # [first, last] step this invocation trained
    log = RunLog(settings.workdir, command=command, settings=kept, steps=steps)

    def tracked(done: int, total: int, stats: dict[str, float]) -> None:
        progress(done, total, stats)
        steps[:] = [steps[0] if steps else done - 1, done]
        if due(done, total, settings.checkpoint_every):
            log.save()

    net, losses = fit(settings, tracked)
    record = {
        **log.made(settings.seed, "cpu"),
        "steps": settings.steps,
        "batch": settings.batch,
        "pool": settings.pool,
        "final_loss": float(np.mean(losses[-100:])) if losses else None,
        "parameters": audionet.count_parameters(net),
        "heldout_check": check(net, settings.seed),
    }
    return audionet.export(out or settings.workdir / "bundle", settings.config, net, record)
