"""``cinegen train-tiny``: cinegen-tiny from nothing, on a CPU or a GPU, resumable.

Four stages, each checkpointed in the work directory and skipped once done:

1. **autoencoder** on single toy-world frames (L1, with object pixels weighted up: objects are
   a tenth of a frame but all of what the analyser reads);
2. **detail**: the encoder frozen (so the latents are stage 1's), the decoder trained on with
   its fixed ``detail`` image and gate (``network.AutoEncoder``), background-detail pixels (the
   night's stars) weighted like objects: a one-pixel star is 1 in 4096 of a frame, and a
   convolution cannot know where the stars are;
3. **latents**: a fixed set of training clips rendered and encoded once, normalised per channel
   (encoding on the fly would cost as much as the transformer's own step);
4. **transformer**: rectified flow on those latents under fresh captions every step, with
   10% empty prompts (for classifier-free guidance), the operations' conditions
   (``flow.condition_for_training``) and an exponential moving average of the weights. Latent
   pixels where a clip differs from its bare background weigh ``foreground_weight`` in the
   loss: objects are a fifth of the latents but all of what shape and motion are made of.

Every batch and its noise are drawn from ``(seed, stage, step)``, and the transformer starts
from ``seed`` alone, so a run stopped and resumed anywhere ends with the same weights as one
that never stopped (the shipped weights' first run, in November 2026, still drew the
autoencoder's noise from the global generator). Each invocation is appended to
``runs.json`` in the work directory (command, settings, the steps it trained), and the
bundle's record lists them all: a run stopped and resumed with other settings says so.
``export`` writes the shipped bundle (``weights.py``).

Here: stages 3 and 4 and the whole run; stages 1 and 2 are ``train_autoencoder.py``, the
settings and the seeded streams every stage draws from ``train_settings.py``.
"""

from __future__ import annotations

import copy
import dataclasses
import hashlib
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import Tensor, nn

from cinegen.errors import SpecError
from cinegen.models.tiny import captions, toyworld, vocab
from cinegen.models.tiny import weights as bundle
from cinegen.models.tiny.captions import caption
from cinegen.models.tiny.checkpoint import Checkpoint, RunLog, due, save
from cinegen.models.tiny.flow import (
    Condition,
    condition_for_training,
    flow_loss,
    sample_training_time,
)
from cinegen.models.tiny.network import AutoEncoder, TinyConfig, VideoDiT, count_parameters
from cinegen.models.tiny.text import EncodedText, TextEncoder
from cinegen.models.tiny.toyworld import Scene, background_image, render_clip, sample_scene
from cinegen.models.tiny.train_autoencoder import train_autoencoder, train_detail
from cinegen.models.tiny.train_settings import (
    STAGE_DATA,
    STAGE_DIT,
    Progress,
    TrainSettings,
    autocast,
    learning_rate,
    rng_for,
    to_unit,
    torch_rng_for,
)
from cinegen.models.tiny.vocab import Background

CFG_DROP = 0.1  # share of prompts replaced by the empty prompt
EMA_DECAY = 0.999
FOREGROUND_LATENT = 1.0  # normalised latent distance from the bare background marking an object


# --- stage 3: latents ----------------------------------------------------------------------
def dataset_scenes(seed: int, n: int) -> list[Scene]:
    rng = rng_for(seed, STAGE_DATA, 0)
    return [sample_scene(rng) for _ in range(n)]


@torch.no_grad()
def encode_clips(ae: AutoEncoder, clips: np.ndarray, device: str) -> Tensor:
    """uint8 clips (B, F, H, W, 3) -> raw latents (B, F, C, h, w) float32."""
    b, f = clips.shape[:2]
    x = to_unit(clips.reshape(b * f, *clips.shape[2:])).to(device)
    with autocast(device):
        z = ae.encode(x).float()
    return z.view(b, f, *z.shape[1:])


def build_latents(
    settings: TrainSettings,
    ae: AutoEncoder,
    progress: Progress,
    stats: tuple[Tensor, Tensor] | None = None,
) -> tuple[Tensor, Tensor, Tensor, list[Scene]]:
    """Latents of the training clips, normalised, with the per-channel mean and std used:
    ``stats`` when given (a continued run keeps its bundle's), else the clips' own."""
    path = settings.workdir / "latents.pt"
    scenes = dataset_scenes(settings.seed, settings.clips)
    if path.exists():
        state = torch.load(path)
        return state["latents"], state["mean"], state["std"], scenes
    chunk, parts = 256, []
    for start in range(0, len(scenes), chunk):
        part = scenes[start : start + chunk]
        clips = np.stack(
            [render_clip(s, settings.config.frames, settings.config.size) for s in part]
        )
        parts.append(encode_clips(ae, clips, settings.device).cpu().half())
        progress("latents", min(start + chunk, len(scenes)), len(scenes), {})
    latents = torch.cat(parts)
    flat = latents.float().movedim(2, -1).reshape(-1, latents.shape[2])
    mean, std = stats if stats is not None else (flat.mean(0), flat.std(0))
    latents = ((latents.float() - mean[:, None, None]) / std[:, None, None]).half()
    save(path, {"latents": latents, "mean": mean, "std": std})
    return latents, mean, std, scenes


@torch.no_grad()
def background_latents(
    ae: AutoEncoder, config: TinyConfig, mean: Tensor, std: Tensor, device: str
) -> Tensor:
    """Normalised latents of every bare background, (len(Background), C, h, w), in enum order."""
    images = np.stack([background_image(b, config.size) for b in Background])
    clips = np.round(images).astype(np.uint8)[:, None]
    z = encode_clips(ae, clips, device)[:, 0].cpu()
    return (z - mean[:, None, None]) / std[:, None, None]


# --- stage 4: transformer ------------------------------------------------------------------
@dataclass(frozen=True)
class Start:
    """Where a continued run's transformer begins: a bundle's, at the step it stopped at."""

    transformer: VideoDiT
    step: int


@dataclass
class DitBatch:
    clips: list[int]  # indices of the training clips drawn
    latents: Tensor  # (B, F, C, h, w) normalised clean latents
    text: EncodedText
    t: Tensor  # (B,) flow times
    noise: Tensor
    condition: Condition
    weight: Tensor  # (B, F, 1, h, w) loss weight per latent pixel

    def to(self, device: str) -> DitBatch:
        return DitBatch(
            self.clips,
            self.latents.to(device),
            self.text,
            self.t.to(device),
            self.noise.to(device),
            Condition(self.condition.known.to(device), self.condition.mask.to(device)),
            self.weight.to(device),
        )


def dit_batch(
    settings: TrainSettings,
    step: int,
    latents: Tensor,
    scenes: list[Scene],
    backgrounds: Tensor,
    encoder: TextEncoder,
) -> DitBatch:
    rng = rng_for(settings.seed, STAGE_DIT, step)
    index = rng.integers(len(scenes), size=settings.dit_batch)
    prompts = ["" if rng.random() < CFG_DROP else caption(scenes[i], rng) for i in index.tolist()]
    x0 = latents[torch.from_numpy(index)].float()
    condition = condition_for_training(x0, rng)
    generator = torch_rng_for(settings.seed, STAGE_DIT, step)
    t = sample_training_time(len(index), generator, settings.time_shift)
    noise = torch.randn(x0.shape, generator=generator)
    order = list(Background)
    bare = backgrounds[[order.index(scenes[i].background) for i in index.tolist()]]
    foreground = (x0 - bare[:, None]).abs().amax(2, keepdim=True) > FOREGROUND_LATENT
    weight = 1 + (settings.foreground_weight - 1) * foreground.float()
    return DitBatch(index.tolist(), x0, encoder(prompts), t, noise, condition, weight)


def train_transformer(
    settings: TrainSettings,
    latents: Tensor,
    scenes: list[Scene],
    backgrounds: Tensor,
    progress: Progress,
    start: Start | None = None,
) -> tuple[VideoDiT, list[float]]:
    """The transformer trained to ``settings.dit_steps``: from ``seed`` and step 0, or from
    ``start`` (a bundle's transformer and the step it stopped at) with a fresh optimiser."""
    device = settings.device
    torch.manual_seed(settings.seed)  # the same start whatever ran before in this process
    model = VideoDiT(settings.config).to(device)
    if start is not None:
        model.load_state_dict(start.transformer.state_dict())
    ema = copy.deepcopy(model).requires_grad_(False)
    opt = torch.optim.AdamW(model.parameters(), lr=settings.lr, weight_decay=0.01)
    checkpoint = Checkpoint(
        settings.workdir / "transformer.pt",
        opt,
        every=settings.checkpoint_every,
        model=model,
        ema=ema,
    )
    first = start.step if start is not None else 0
    resumed = checkpoint.resume(device, losses=[])
    step, losses = max(resumed["step"], first), resumed["losses"]
    forward: nn.Module = torch.compile(model) if settings.compile else model  # type: ignore[assignment]
    encoder = TextEncoder(device)
    total = settings.dit_steps
    while step < total:
        for group in opt.param_groups:
            group["lr"] = learning_rate(settings, step, total, first)
        batch = dit_batch(settings, step, latents, scenes, backgrounds, encoder).to(device)
        with autocast(device):
            loss = flow_loss(
                forward,  # type: ignore[arg-type]
                batch.latents,
                batch.text,
                batch.condition,
                batch.t,
                batch.noise,
                batch.weight,
            )
        opt.zero_grad(set_to_none=True)
        loss.backward()  # type: ignore[no-untyped-call]
        nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        decay = min(EMA_DECAY, (1 + step) / (10 + step))
        with torch.no_grad():
            for p_ema, p in zip(ema.parameters(), model.parameters(), strict=True):
                p_ema.lerp_(p, 1 - decay)
        step += 1
        losses.append(loss.item())
        progress("transformer", step, total, {"loss": float(np.mean(losses[-50:]))})
        checkpoint.save_if_due(step, total, losses=losses)
    return ema.eval(), losses


# --- the whole run -------------------------------------------------------------------------
def _settings_record(settings: TrainSettings, continued: str | None = None) -> dict[str, Any]:
    """The settings that shape the weights (not where or how fast they were computed), and a
    fingerprint of the code that draws the data: a changed caption or scene changes it."""
    skip = {"workdir", "config", "device", "compile", "threads", "checkpoint_every", "init_from"}
    record = {k: v for k, v in asdict(settings).items() if k not in skip}
    if continued is not None:  # the sha256 it continued, not where that lay; not stages 1-2
        for unused in ("ae_steps", "ae_batch", "detail_steps"):
            del record[unused]
        record["init_from_sha256"] = continued
    digest = hashlib.sha256()
    for module in (toyworld, vocab, captions):
        digest.update(Path(str(module.__file__)).read_bytes())
    return {**record, "data_code_sha256": digest.hexdigest()[:16]}


def train(
    settings: TrainSettings,
    progress: Progress,
    out: Path | None = None,
    command: str = "cinegen train-tiny",
) -> Path:
    """Run (or resume) every stage and write the bundle to ``out`` (default: the workdir)."""
    settings.workdir.mkdir(parents=True, exist_ok=True)
    base = bundle.load(settings.init_from) if settings.init_from is not None else None
    if base is not None:  # its shapes, whatever the settings say
        settings = dataclasses.replace(settings, config=base.config)
        done = int(base.record["steps"]["transformer"])
        if settings.dit_steps <= done:
            raise SpecError(
                "steps",
                f"{settings.init_from} was trained {done} transformer steps already; "
                "ask for more to continue it",
                value=settings.dit_steps,
                allowed=f"more than {done}",
            )
    if settings.threads:
        torch.set_num_threads(settings.threads)
    torch.manual_seed(settings.seed)
    steps: dict[str, list[int]] = {}  # stage -> [first step, last step] trained by this run
    continued = base.record["sha256"] if base is not None else None
    made = _settings_record(settings, continued)
    log = RunLog(settings.workdir, command=command, settings=made, steps=steps)

    def tracked(stage: str, done: int, total: int, stats: dict[str, float]) -> None:
        progress(stage, done, total, stats)
        if stage != "latents":
            steps.setdefault(stage, [done - 1, done])[1] = done
        if due(done, total, settings.checkpoint_every):
            log.save()

    if base is None:
        ae = train_detail(settings, train_autoencoder(settings, tracked), tracked)
        latents, mean, std, scenes = build_latents(settings, ae, tracked)
        start, earlier = None, {}
        autoencoder_steps = {"autoencoder": settings.ae_steps, "detail": settings.detail_steps}
        ae_batch = settings.ae_batch
    else:
        ae = base.to(settings.device).autoencoder
        stats = (base.latent_mean.cpu(), base.latent_std.cpu())
        latents, mean, std, scenes = build_latents(settings, ae, tracked, stats)
        start = Start(base.transformer, done)
        earlier = {"continued_from": _continued(base.record)}
        autoencoder_steps = {k: v for k, v in base.record["steps"].items() if k != "transformer"}
        ae_batch = base.record["batch"]["autoencoder"]
    backgrounds = background_latents(ae, settings.config, mean, std, settings.device)
    dit, losses = train_transformer(settings, latents, scenes, backgrounds, tracked, start)
    record = {
        **log.made(settings.seed, settings.device),
        **earlier,
        "steps": {**autoencoder_steps, "transformer": settings.dit_steps},
        "batch": {"autoencoder": ae_batch, "transformer": settings.dit_batch},
        "clips": settings.clips,
        "final_loss": float(np.mean(losses[-200:])) if losses else None,
        "parameters": {"autoencoder": count_parameters(ae), "transformer": count_parameters(dit)},
    }
    target = out or settings.workdir / "bundle"
    return bundle.export(target, settings.config, ae, dit, mean, std, record)


def _continued(record: dict[str, Any]) -> dict[str, Any]:
    """What a continued bundle's record keeps of the one it continued: how those weights
    were made (their own command, runs, wall time, hardware) and which they were."""
    keep = ("sha256", "command", "runs", "hardware", "wall_seconds", "steps", "continued_from")
    return {key: record[key] for key in keep if key in record}
