"""What differs between the diffusers video families, as data: ``Family`` and ``FAMILIES``.

A row names the pipeline classes, the extra call arguments, the step cache that works, how
the variants of a call batch, how a preview decodes (the ``_*_decode`` functions here), and
how held frames and regions reach the pipeline (``condition``: LTX's condition pipeline,
VACE's video and mask). LTX-2's functions and its two-stage and distilled data live in
``ltx2.py``, Kandinsky 6's in ``kandinsky6.py``, HunyuanVideo 1.5's call in ``hunyuan15.py``.
``backend.DiffusersVideoBackend`` reads the row of its model's family.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from PIL import Image

from cinegen.engine.backends.base import RenderJob, Sound
from cinegen.engine.backends.diffusers import hunyuan15, kandinsky6, ltx2, sana, skyreels
from cinegen.media.keep import Keep


def first_block_cache() -> Any:
    from diffusers.hooks.first_block_cache import FirstBlockCacheConfig

    # 0.05 keeps visible drift low on the real models; diffusers' docs use 0.05–0.2.
    return FirstBlockCacheConfig(threshold=0.05)


# --- previews: the first video's first latent frame as sampling stands, decoded the way the
# family's pipeline decodes (each scales its latents its own way): the pipeline's latents
# and the job in, a video (1, C, F, H, W) in [-1, 1] out.
def _first_frame(latents: torch.Tensor) -> torch.Tensor:
    return latents[:1, :, :1]  # (B, C, F, h, w)


def _denormalised(latents: torch.Tensor, config: Any, scaling_factor: float = 1.0) -> torch.Tensor:
    """Latents back on the VAE's scale from its per-channel ``latents_mean`` / ``_std``."""
    shape = (1, latents.shape[1], 1, 1, 1)
    mean = torch.tensor(config.latents_mean).view(shape).to(latents)
    std = torch.tensor(config.latents_std).view(shape).to(latents)
    return latents * std / scaling_factor + mean


def _wan_decode(pipe: Any, latents: torch.Tensor, job: RenderJob) -> torch.Tensor:
    latents = _denormalised(_first_frame(latents), pipe.vae.config)
    return pipe.vae.decode(latents, return_dict=False)[0]  # type: ignore[no-any-return]


def _mochi_decode(pipe: Any, latents: torch.Tensor, job: RenderJob) -> torch.Tensor:
    latents, config = _first_frame(latents), pipe.vae.config
    if getattr(config, "latents_mean", None) is not None:
        latents = _denormalised(latents, config, config.scaling_factor)
    else:
        latents = latents / config.scaling_factor
    return pipe.vae.decode(latents, return_dict=False)[0]  # type: ignore[no-any-return]


def _hunyuan_decode(pipe: Any, latents: torch.Tensor, job: RenderJob) -> torch.Tensor:
    latents = _first_frame(latents) / pipe.vae.config.scaling_factor
    return pipe.vae.decode(latents, return_dict=False)[0]  # type: ignore[no-any-return]


def _cogvideox_decode(pipe: Any, latents: torch.Tensor, job: RenderJob) -> torch.Tensor:
    # CogVideoX keeps frames second, (B, F, C, h, w); its own helper permutes and scales.
    return pipe.decode_latents(latents[:1, :1])  # type: ignore[no-any-return]


def _ltx_decode(pipe: Any, latents: torch.Tensor, job: RenderJob) -> torch.Tensor:
    # LTX packs latents into tokens (B, S, D), conditioning tokens first in its condition
    # pipeline; its decoder takes a noise level (0: the pipeline's default decode_timestep).
    # The decoder looks both ways in time, so the first latent frame alone decodes to an
    # approximation of the first frame: a full decode at every preview would cost as much
    # as the rest of a step.
    grid = (
        (job.n_frames - 1) // pipe.vae_temporal_compression_ratio + 1,
        job.height // pipe.vae_spatial_compression_ratio,
        job.width // pipe.vae_spatial_compression_ratio,
    )
    p, pt = pipe.transformer_spatial_patch_size, pipe.transformer_temporal_patch_size
    tokens = (grid[0] // pt) * (grid[1] // p) * (grid[2] // p)
    video = pipe._unpack_latents(
        latents[:1, -tokens:], grid[0] // pt, grid[1] // p, grid[2] // p, p, pt
    )
    vae = pipe.vae
    video = pipe._denormalize_latents(
        video[:, :, :1], vae.latents_mean, vae.latents_std, vae.config.scaling_factor
    )
    timestep = torch.zeros(1, device=video.device) if vae.config.timestep_conditioning else None
    return vae.decode(video, timestep, return_dict=False)[0]  # type: ignore[no-any-return]


# --- conditioning beyond a first frame: held frames anywhere, a clip to remix -----------------
def held_runs(keep: Keep, step: int) -> list[tuple[int, np.ndarray]]:
    """The runs of frames ``keep`` holds, as (first frame, frames), each cut to step*k + 1
    frames (what a temporally compressing VAE encodes whole) on the side away from the
    frames being generated. A frame counts as held if any of it is: the margins a narrower
    output crops away are not held but are filled from the frame's edges."""
    per_frame = np.asarray(keep.mask.reshape(len(keep.mask), -1).any(axis=1))
    held = [bool(h) for h in per_frame]
    runs: list[tuple[int, np.ndarray]] = []
    start: int | None = None
    for i, on in enumerate([*held, False]):
        if on and start is None:
            start = i
        elif not on and start is not None:
            length = (i - start - 1) // step * step + 1
            first = i - length if start == 0 else start  # next to what is generated
            runs.append((first, keep.frames[first : first + length]))
            start = None
    return runs


def _ltx_condition(pipe: Any, job: RenderJob, n: int) -> dict[str, Any]:
    """LTX's condition pipeline: each run of held frames is a condition at its frame index;
    a remix starts from the source's latents noised to ``strength`` (``denoise_strength``)."""
    from diffusers.pipelines.ltx.pipeline_ltx_condition import LTXVideoCondition

    if job.image is not None and job.source is None:
        return {"image": Image.fromarray(job.image)}  # plain image-to-video, as LTX documents
    kwargs: dict[str, Any] = {}
    if job.keep is not None:
        kwargs["conditions"] = [
            LTXVideoCondition(video=[Image.fromarray(f) for f in frames], frame_index=first)
            if len(frames) > 1
            else LTXVideoCondition(image=Image.fromarray(frames[0]), frame_index=first)
            for first, frames in held_runs(job.keep, pipe.vae_temporal_compression_ratio)
        ]
    if job.source is not None:
        frames = [Image.fromarray(f) for f in job.source]
        video = pipe.video_processor.preprocess_video(frames, job.height, job.width)
        vae = pipe.vae
        with torch.inference_mode():
            latents = vae.encode(video.to(vae.device, vae.dtype)).latent_dist.mode()
        latents = pipe._normalize_latents(latents, vae.latents_mean, vae.latents_std)
        kwargs["latents"] = latents.repeat(n, 1, 1, 1, 1)
        kwargs["denoise_strength"] = job.strength
    return kwargs


VACE_GREY = 128  # VACE's value for pixels to generate (0 on its [-1, 1] scale)


def _vace_condition(pipe: Any, job: RenderJob, n: int) -> dict[str, Any]:
    """Wan VACE: the held pixels as its ``video``, the rest grey and white in its ``mask``
    (white: generate), for any frames and regions (first frame, extension, inpainting); the
    characters' pictures as its ``reference_images``."""
    if job.source is not None:
        raise ValueError("Wan VACE conditions on held pixels, not on a clip to remix")
    kwargs: dict[str, Any] = {}
    if job.keep is not None:
        held = job.keep.mask[..., None]
        frames = np.where(held, job.keep.frames, VACE_GREY).astype(np.uint8)
        masks = np.where(held, 0, 255).astype(np.uint8).repeat(3, axis=-1)
        kwargs["video"] = [Image.fromarray(f) for f in frames]
        kwargs["mask"] = [Image.fromarray(m) for m in masks]
    if job.references:
        kwargs["reference_images"] = [Image.fromarray(r) for r in job.references]
    return kwargs


def _first_last_condition(pipe: Any, job: RenderJob, n: int) -> dict[str, Any]:
    """Wan's image-to-video pipeline: a first frame (``image``) and, where held, a last one
    (``last_image``: the two join the condition, the frames between are generated)."""
    if job.keep is None or job.source is not None or job.references:
        raise ValueError("Wan image-to-video holds a first frame and a last one, nothing else")
    held = np.flatnonzero(job.keep.mask.reshape(len(job.keep.mask), -1).any(axis=1))
    last = len(job.keep.mask) - 1
    if held.tolist() not in ([0], [0, last]):
        raise ValueError(f"Wan image-to-video holds frames 0 and {last} only, not {held.tolist()}")
    kwargs = {"image": Image.fromarray(job.keep.frames[0])}
    if len(held) == 2:
        kwargs["last_image"] = Image.fromarray(job.keep.frames[last])
    return kwargs


# Wan 2.2's two experts: the low-noise one (``transformer_2``) guides with its own scale,
# as a share of the preset's. Text to video: 3.0 against 4.0 (diffusers' modular Wan 2.2
# blocks, ``modular_pipelines/wan/denoise.py``, and Wan2.2's t2v-A14B config); image to
# video: 3.5 for both (Wan2.2's i2v-A14B config).
WAN22_LOW_NOISE_GUIDANCE = {"t2v": 3.0 / 4.0, "i2v": 1.0}


def _wan22_arguments(job: RenderJob) -> dict[str, Any]:
    share = WAN22_LOW_NOISE_GUIDANCE["i2v" if job.conditioned else "t2v"]
    return {"guidance_scale_2": job.guidance * share}


def _call(pipe: Any, kwargs: dict[str, Any]) -> Any:
    return pipe(**kwargs)


@dataclass(frozen=True)
class Family:
    t2v: str  # diffusers pipeline class names
    i2v: str | None = None
    # Extra keyword arguments for a call, from the job (e.g. LTX's frame_rate).
    extra: Callable[[RenderJob], dict[str, Any]] = lambda job: {}
    negative_prompt: bool = True  # Hunyuan's guidance is embedded: no negative branch
    cache: Callable[[], Any] | None = first_block_cache
    # i2v shares the t2v weights (same components) rather than needing its own checkpoint.
    i2v_shares_weights: bool = False
    # Variants are batched by repeating the prompt (num_videos_per_prompt is ignored by
    # CogVideoX and crashes Wan/Hunyuan i2v). In such a batch, i2v wants the image once per
    # video (CogVideoX, Hunyuan) or exactly once (Wan, LTX).
    image_per_video: bool = False
    # LTX's condition pipeline encodes the image with generator[0] only, so a batched
    # variant would differ from the same seed alone: render i2v one seed at a time.
    batch_i2v: bool = True
    # Wan VACE takes one prompt and one generator, never lists: one seed a call, bare values.
    single: bool = False
    # Previews (see above).
    decode: Callable[[Any, torch.Tensor, RenderJob], torch.Tensor] | None = None
    # Keyword arguments of the i2v pipeline for held frames anywhere and a remix source
    # (job and number of videos in), if it takes them; else only a whole first frame.
    condition: Callable[[Any, RenderJob, int], dict[str, Any]] | None = None
    # A third pipeline class for held frames other than a whole first frame (LTX-2's
    # condition pipeline); ``condition`` gives its arguments too.
    keyframes: str | None = None
    # (prompt, negative prompt) the pipeline reads, from the job (LTX-2 adds the sound's).
    prompts: Callable[[RenderJob], tuple[str, str]] = lambda job: (job.prompt, job.negative_prompt)
    # The sound in a pipeline's output (pipeline, output, job in), for families that make it.
    sound: Callable[[Any, Any, RenderJob], Sound] | None = None
    # Presets with ``two_stage``: the second stage (LTX-2); with ``distilled``: how the
    # distilled weights sample. Families without them render such presets in one stage, on
    # the same weights.
    refine: ltx2.Refine | None = None
    distilled: ltx2.Distilled | None = None
    # Diffusion forcing (SkyReels-V2): clips longer than its window render natively in
    # overlapping windows, one seed a call with torch's global generator seeded from it, the
    # frames cut to the job's timeline; ``describe`` reports the windows.
    forcing: skyreels.Forcing | None = None
    # The call's argument for the number of frames (SANA-Video's pipelines: ``frames``).
    frames_keyword: str = "num_frames"
    # Python packages the real weights need beyond cinegen's own (the pip extra that brings
    # them in is named after the family); the tiny twins need none.
    needs: tuple[str, ...] = ()
    # How a pipeline runs with the backend's keyword arguments (guidance_scale,
    # callback_on_step_end, height and width among them): called as they are, except by
    # pipelines that take them otherwise (HunyuanVideo 1.5: ``hunyuan15.call``).
    call: Callable[[Any, dict[str, Any]], Any] = _call


FAMILIES: dict[str, Family] = {
    "ltx": Family(
        t2v="LTXPipeline",
        i2v="LTXConditionPipeline",
        extra=lambda job: {"frame_rate": round(job.fps)},
        i2v_shares_weights=True,
        batch_i2v=False,
        decode=_ltx_decode,
        condition=_ltx_condition,
    ),
    # Picture and sound in one call. Its i2v pipeline takes one picture for a batch only
    # with one generator: one seed a call. Its condition pipeline batches.
    "ltx-2": Family(
        t2v="LTX2Pipeline",
        i2v="LTX2ImageToVideoPipeline",
        keyframes="LTX2ConditionPipeline",
        extra=ltx2.call_arguments,
        # Trap: diffusers 0.42.1's FirstBlockCache knows no LTX2VideoTransformerBlock
        # ("not registered"): turbo is fewer steps, or the distilled weights, uncached.
        cache=None,
        i2v_shares_weights=True,
        batch_i2v=False,
        decode=ltx2.decode,
        condition=ltx2.condition,
        prompts=ltx2.prompts,
        sound=ltx2.sound,
        refine=ltx2.Refine(
            upsampler="LTX2LatentUpsamplerModel",
            upsample_pipeline="LTX2LatentUpsamplePipeline",
            subfolder="latent_upsampler",
        ),
        distilled=ltx2.Distilled(),
    ),
    # Picture and sound in one call, from text or a first frame: one pipeline class for
    # both, the image one more argument, once per video in a batch.
    "kandinsky-6": Family(
        t2v="Kandinsky6TI2VAPipeline",
        i2v="Kandinsky6TI2VAPipeline",
        extra=kandinsky6.call_arguments,
        # Trap: diffusers 0.42.1's FirstBlockCache knows no Kandinsky6FusedTransformerDecoderBlock
        # ("not registered"): turbo is fewer steps, uncached.
        cache=None,
        i2v_shares_weights=True,
        image_per_video=True,
        decode=kandinsky6.decode,
        prompts=kandinsky6.prompts,
        sound=kandinsky6.sound,
        # Its tokenizer is a Qwen2.5-VL processor, which transformers builds with torchvision.
        needs=("torchvision",),
    ),
    "wan": Family(t2v="WanPipeline", i2v="WanImageToVideoPipeline", decode=_wan_decode),
    # Wan 2.1 FLF2V: the image-to-video pipeline with a first and a last frame, both always
    # (its image embedder reads two pictures' tokens: plan refuses a request without both).
    "wan-flf2v": Family(
        t2v="WanImageToVideoPipeline",  # never loaded: the registry gives it no text-to-video
        i2v="WanImageToVideoPipeline",
        decode=_wan_decode,
        condition=_first_last_condition,
    ),
    # One pipeline for text alone and for any held frames or regions.
    "wan-vace": Family(
        t2v="WanVACEPipeline", single=True, decode=_wan_decode, condition=_vace_condition
    ),
    "cogvideox": Family(
        t2v="CogVideoXPipeline",
        i2v="CogVideoXImageToVideoPipeline",
        image_per_video=True,
        decode=_cogvideox_decode,
    ),
    "mochi": Family(t2v="MochiPipeline", decode=_mochi_decode),
    # guidance_scale is Hunyuan's distilled guidance embedding; true CFG (and with it a
    # negative prompt) would be true_cfg_scale > 1, which its i2v cannot batch.
    "hunyuan": Family(
        t2v="HunyuanVideoPipeline",
        i2v="HunyuanVideoImageToVideoPipeline",
        negative_prompt=False,
        image_per_video=True,
        decode=_hunyuan_decode,
    ),
    # Diffusion forcing over Wan 2.1: text, a first frame, or a clip's first frames to
    # continue (its video-to-video pipeline), any length in windows. One set of weights.
    "skyreels-v2": Family(
        t2v="SkyReelsV2DiffusionForcingPipeline",
        i2v="SkyReelsV2DiffusionForcingImageToVideoPipeline",
        keyframes="SkyReelsV2DiffusionForcingVideoToVideoPipeline",
        extra=skyreels.FORCING.call_arguments,
        # Trap: diffusers 0.42.1's FirstBlockCache knows no SkyReelsV2TransformerBlock
        # ("not registered"): turbo is fewer steps, uncached.
        cache=None,
        i2v_shares_weights=True,
        decode=_wan_decode,
        condition=skyreels.condition,
        forcing=skyreels.FORCING,
    ),
    # Linear-attention DiT over Wan 2.1's VAE, from text or a first frame, one checkpoint.
    "sana-video": Family(
        t2v="SanaVideoPipeline",
        i2v="SanaImageToVideoPipeline",
        frames_keyword="frames",
        extra=sana.call_arguments,
        # Trap: diffusers 0.42.1's SanaVideoTransformer3DModel has no enable_cache, and its
        # FirstBlockCache knows no SanaVideoTransformerBlock: turbo is fewer steps, uncached.
        cache=None,
        i2v_shares_weights=True,
        decode=_wan_decode,
        prompts=sana.prompts,
    ),
    # HunyuanVideo 1.5: true CFG with a negative prompt (its guider), a ByT5 glyph encoder for
    # quoted text, the image its own checkpoint's; the call as ``hunyuan15.call`` makes it.
    "hunyuan-1.5": Family(
        t2v="HunyuanVideo15Pipeline",
        i2v="HunyuanVideo15ImageToVideoPipeline",
        # Trap: diffusers 0.42.1's FirstBlockCache knows no HunyuanVideo15TransformerBlock
        # ("not registered"): turbo is fewer steps, uncached.
        cache=None,
        decode=_hunyuan_decode,
        call=hunyuan15.call,
    ),
    # Wan 2.2 A14B: two experts, ``transformer`` above the pipeline's ``boundary_ratio`` of
    # the noise, ``transformer_2`` below it; the step cache runs on each (backend._step_cache).
    "wan-2.2": Family(
        t2v="WanPipeline",
        i2v="WanImageToVideoPipeline",
        extra=_wan22_arguments,
        decode=_wan_decode,
        condition=_first_last_condition,  # a last frame too (registry: last_frame)
    ),
    # Wan 2.2 TI2V 5B: one checkpoint for text and a first frame (``expand_timesteps``: the
    # image's latent frame is kept clean, its timestep 0), a 16x VAE (z_dim 48).
    "wan-2.2-ti2v": Family(
        t2v="WanPipeline",
        i2v="WanImageToVideoPipeline",
        i2v_shares_weights=True,
        decode=_wan_decode,
    ),
}
