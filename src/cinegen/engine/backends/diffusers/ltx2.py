"""What LTX-2 adds to the diffusers backend: sound, keyframes, two stages, distilled weights.

diffusers 0.42.1's LTX-2 pipelines (``pipelines/ltx2/``) denoise picture and sound together
and return ``LTX2PipelineOutput(frames, audio)``. The functions here are the ``ltx-2`` row
of ``families.FAMILIES``: how held frames become ``LTX2VideoCondition``s, how the sound comes
out, where the sound's words go, how a preview decodes; and ``Refine`` / ``Distilled``, the
data of the quality preset's second stage and of the distilled weights.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import torch
from PIL import Image

from cinegen.engine.backends.base import RenderJob, Sound
from cinegen.media.keep import Keep

# diffusers.pipelines.ltx2.utils, copied so that reading the table imports no diffusers.
DISTILLED_SIGMAS = (1.0, 0.99375, 0.9875, 0.98125, 0.975, 0.909375, 0.725, 0.421875)
STAGE_2_SIGMAS = (0.909375, 0.725, 0.421875)

Callback = Callable[[RenderJob], Callable[..., dict[str, Any]]]  # job at a stage's size in


@dataclass(frozen=True)
class Refine:
    """The second stage of a two-stage render (diffusers' LTX-2 docs, "Two-stages
    Generation"): the first stage renders at half the size, the latent upsampler doubles its
    video latents, and ``sigmas`` re-noise and refine them, with the sound's, at full size."""

    upsampler: str  # diffusers class of the latent upsampler
    upsample_pipeline: str  # and of the pipeline that runs it over the first stage's latents
    subfolder: str  # where the upsampler's weights lie beside the model's
    sigmas: tuple[float, ...] = STAGE_2_SIGMAS
    guidance: float = 1.0
    # Trap: the reference's second stage also loads a distilled LoRA (it needs peft, which
    # cinegen does not install); without it the refine runs the first stage's transformer,
    # or the distilled one where the deployment names it.


@dataclass(frozen=True)
class Distilled:
    """How distilled weights sample: their own schedule, no classifier-free guidance."""

    subfolder: str = "transformer"  # the only component that differs from the full model
    sigmas: tuple[float, ...] = DISTILLED_SIGMAS
    guidance: float = 1.0


def exact_sigmas(pipe: Any) -> Any:
    """The pipeline's scheduler, set to follow given sigmas exactly (no resolution-dependent
    shift): what the distilled schedules and the refine stage were made for."""
    config = dict(pipe.scheduler.config, use_dynamic_shifting=False, shift_terminal=None)
    return type(pipe.scheduler).from_config(config)


@contextlib.contextmanager
def swapped(pipe: Any, **components: Any) -> Iterator[None]:
    """Give ``pipe`` other components for one call, and its own back whatever happens."""
    before = {name: getattr(pipe, name) for name in components}
    for name, component in components.items():
        setattr(pipe, name, component)
    try:
        yield
    finally:
        for name, component in before.items():
            setattr(pipe, name, component)


def two_stages(
    pipe: Any,
    *,
    upsample: Any,
    refine: Refine,
    kwargs: dict[str, Any],
    job: RenderJob,
    callback: Callback,
) -> Any:
    """Render ``kwargs`` (one pipeline call at ``job``'s size) in two stages; ``upsample``
    is the latent upsample pipeline. The conditions go to both stages, each at its size."""
    half = replace(job, width=job.width // 2, height=job.height // 2)
    # 1. the first stage at half the size, kept as (denormalised) latents
    first = dict(kwargs, width=half.width, height=half.height, callback_on_step_end=callback(half))
    video, audio = pipe(**dict(first, output_type="latent"), return_dict=False)
    # 2. twice the size, in latent space; the sound's latents need no upsampling
    video = upsample(latents=video, output_type="latent", return_dict=False)[0]
    # 3. re-noise both to the refine schedule's first sigma and denoise them at full size
    second = dict(
        kwargs,
        latents=video,
        audio_latents=audio,
        sigmas=list(refine.sigmas),
        num_inference_steps=len(refine.sigmas),
        noise_scale=refine.sigmas[0],
        guidance_scale=refine.guidance,
        callback_on_step_end=callback(job),
    )
    with swapped(pipe, scheduler=exact_sigmas(pipe)):
        return pipe(**second)


# --- the family's functions ---------------------------------------------------------------
def call_arguments(job: RenderJob) -> dict[str, Any]:
    # LTX-2.0's guidance, per diffusers' docstrings: cross-modal timesteps off (the 2.3 / 2.5
    # behaviour is on), spatio-temporal guidance at block 29 (2.3: 28).
    return {
        "frame_rate": job.fps,
        "use_cross_timestep": False,
        "spatio_temporal_guidance_blocks": [29],
    }


def prompts(job: RenderJob) -> tuple[str, str]:
    """LTX-2 reads one prompt for picture and sound (its connectors split the text encoder's
    states into a video and an audio stream), and the pipelines take no separate audio
    prompt: the sound's words join the prompt, as LTX-2's prompting guide describes them."""
    if not job.sound:
        return job.prompt, job.negative_prompt
    return _joined(job.prompt, job.audio_prompt), _joined(
        job.negative_prompt, job.negative_audio_prompt
    )


def _joined(words: str, more: str) -> str:
    return f"{words.rstrip()} {more.strip()}".strip() if more.strip() else words


def sound(pipe: Any, out: Any, job: RenderJob) -> Sound:
    """The pipeline's waveforms (V, 2, S) at the vocoder's rate, cut or padded with silence
    to exactly the frames' span, ``n_frames / fps`` seconds.

    Trap: they are never exactly that long. The audio latents are a rounded count
    (``round(F / fps * 25)``, 40 ms each) and the causal audio VAE decodes L latents to
    4L - 3 mel frames, so the raw sound runs ~30 ms short, give or take 20 ms."""
    rate = int(pipe.vocoder.config.output_sampling_rate)
    samples = out.audio.float().cpu().numpy() if torch.is_tensor(out.audio) else out.audio
    samples = np.clip(np.asarray(samples, np.float32), -1.0, 1.0)  # (V, channels, S)
    wanted = round(job.n_frames / job.fps * rate)
    fitted = np.zeros((*samples.shape[:2], wanted), np.float32)
    fitted[..., : min(wanted, samples.shape[-1])] = samples[..., :wanted]
    return Sound(fitted, rate)


def decode(pipe: Any, latents: torch.Tensor, job: RenderJob) -> torch.Tensor:
    """A preview: the first latent frame of the first video, decoded. LTX-2 packs latents
    into tokens (B, S, D), the video's first (its condition pipeline appends keyframe tokens
    after them), and its decoder looks both ways in time: an approximation of frame 0."""
    ratio_t, ratio_s = pipe.vae_temporal_compression_ratio, pipe.vae_spatial_compression_ratio
    grid = ((job.n_frames - 1) // ratio_t + 1, job.height // ratio_s, job.width // ratio_s)
    p, pt = pipe.transformer_spatial_patch_size, pipe.transformer_temporal_patch_size
    tokens = (grid[0] // pt) * (grid[1] // p) * (grid[2] // p)
    video = pipe._unpack_latents(
        latents[:1, :tokens], grid[0] // pt, grid[1] // p, grid[2] // p, p, pt
    )  # (1, C, F, h, w)
    vae = pipe.vae
    video = pipe._denormalize_latents(
        video[:, :, :1], vae.latents_mean, vae.latents_std, vae.config.scaling_factor
    )
    timestep = torch.zeros(1, device=video.device) if vae.config.timestep_conditioning else None
    return vae.decode(video, timestep, return_dict=False)[0]  # type: ignore[no-any-return]


def condition(pipe: Any, job: RenderJob, n: int) -> dict[str, Any]:
    """A whole first frame for the image-to-video pipeline; any other held frames as the
    condition pipeline's ``conditions``, each at the latent frame that holds it."""
    if job.source is not None:
        raise ValueError("LTX-2 holds given frames; it does not remix a clip")
    if job.image is not None:
        # One picture for any batch: the pipeline re-compresses it (CRF) as in training.
        return {"image": Image.fromarray(job.image)}
    from diffusers.pipelines.ltx2.pipeline_ltx2_condition import LTX2VideoCondition

    assert job.keep is not None
    step = pipe.vae_temporal_compression_ratio
    conditions = [
        LTX2VideoCondition(
            frames=[Image.fromarray(f) for f in frames]
            if len(frames) > 1
            else Image.fromarray(frames[0]),
            index=index,
        )
        for index, frames in latent_runs(job.keep, step)
    ]
    return {"conditions": conditions}


def latent_runs(keep: Keep, step: int) -> list[tuple[int, np.ndarray]]:
    """The frames ``keep`` holds as LTX-2 conditions: (latent index, frames).

    An index is a latent frame: frame 0 is latent 0, frames step*(k-1)+1 .. step*k are latent
    k. A clip must start where a latent frame starts (0 or step*k + 1) and last step*m + 1
    frames; a run of held frames gives the longest such clip next to the frames being
    generated. A run too short for that gives one picture, which holds its whole latent
    frame (diffusers: "the 8 data space frames ... will tend to be static")."""
    held = np.asarray(keep.mask.reshape(len(keep.mask), -1).any(axis=1))
    runs: list[tuple[int, np.ndarray]] = []
    for a, b in _spans(held):
        starts = [s for s in range(a, b) if s == 0 or s % step == 1]
        clips = [(s, (b - s - 1) // step * step + 1) for s in starts]
        clips = [(s, length) for s, length in clips if length > 1]
        if not clips:
            frame = b - 1 if a == 0 else a  # the picture next to the generated frames
            runs.append((-(-frame // step), keep.frames[frame : frame + 1]))
            continue
        # Held from the start: the clip that ends nearest the generated part, else the
        # clip that starts nearest it.
        s, length = max(clips, key=lambda c: (c[0] + c[1], c[1])) if a == 0 else clips[0]
        runs.append((0 if s == 0 else (s - 1) // step + 1, keep.frames[s : s + length]))
    return runs


def _spans(flags: np.ndarray) -> list[tuple[int, int]]:
    """[start, stop) of each run of True."""
    spans, start = [], None
    for i, on in enumerate([*flags.tolist(), False]):
        if on and start is None:
            start = i
        elif not on and start is not None:
            spans.append((start, i))
            start = None
    return spans
