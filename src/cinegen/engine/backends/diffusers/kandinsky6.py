"""What Kandinsky 6 adds to the diffusers backend: sound from its one pipeline.

diffusers 0.42.1's ``Kandinsky6TI2VAPipeline`` (``pipelines/kandinsky6/``) denoises picture
and sound together in one transformer, for text alone or with a first frame (``image``), and
returns ``Kandinsky6TI2VAPipelineOutput(frames, audio)``, the audio mono at the audio VAE's
rate (44.1 kHz). The functions here are the ``kandinsky-6`` row of ``families.FAMILIES``: the
call's extra arguments, where the sound's words go, how the sound comes out, how a preview
decodes.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from cinegen.engine.backends.base import RenderJob, Sound

# The tags Kandinsky 6 reads sound descriptions between: its own prompt expansion
# (``_T2VA_EXPANSION_INSTRUCTION``) writes them so. Speech would go between <S> and <E>.
AUDIO_OPEN, AUDIO_CLOSE = "<AUDCAP>", "<ENDAUDCAP>"


def call_arguments(job: RenderJob) -> dict[str, Any]:
    """The frame rate sets the sound's length. A job that wants no sound skips it
    (``sample_audio``): the transformer then runs its video path alone, so the picture is
    not the one the same seed gives with sound. Prompts reach the model as given: the
    pipeline's rewriting of them with its Qwen2.5-VL (``expand_prompts``) stays off."""
    return {"frame_rate": job.fps, "sample_audio": job.sound, "expand_prompts": False}


def prompts(job: RenderJob) -> tuple[str, str]:
    """The sound's words join each prompt between Kandinsky 6's audio tags."""
    if not job.sound:
        return job.prompt, job.negative_prompt
    return _tagged(job.prompt, job.audio_prompt), _tagged(
        job.negative_prompt, job.negative_audio_prompt
    )


def _tagged(words: str, sound: str) -> str:
    if not sound.strip():
        return words
    return f"{words.rstrip()} {AUDIO_OPEN}{sound.strip()}{AUDIO_CLOSE}".strip()


def sound(pipe: Any, out: Any, job: RenderJob) -> Sound:
    """The pipeline's waveforms (V, S), mono, as (V, 1, S) at the audio VAE's rate, cut or
    padded with silence to exactly the frames' span, ``n_frames / fps`` seconds.

    Trap: they run long. The pipeline makes ceil(F / fps * rate / 1024) audio latents of
    1024 samples each (``tiny_kandinsky6``'s docstring): up to 23 ms past the frames."""
    rate = int(pipe.audio_sample_rate)
    samples = out.audio.float().cpu().numpy() if torch.is_tensor(out.audio) else out.audio
    samples = np.clip(np.asarray(samples, np.float32), -1.0, 1.0)[:, None]  # (V, 1, S)
    wanted = round(job.n_frames / job.fps * rate)
    fitted = np.zeros((*samples.shape[:2], wanted), np.float32)
    fitted[..., : min(wanted, samples.shape[-1])] = samples[..., :wanted]
    return Sound(fitted, rate)


def decode(pipe: Any, latents: torch.Tensor, job: RenderJob) -> torch.Tensor:
    """A preview: the first latent frame of the first video, decoded. The pipeline keeps
    latents as the transformer reads them, (B, F, h, w, C), an image's frame appended last."""
    first = latents[:1, :1].permute(0, 4, 1, 2, 3)  # (1, C, 1, h, w)
    vae = pipe.vae
    return vae.decode(first / vae.config.scaling_factor, return_dict=False)[0]  # type: ignore[no-any-return]
