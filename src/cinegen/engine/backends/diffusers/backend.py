"""Every diffusers video family behind one ``Backend``: LTX, LTX-2, Wan, Wan VACE, CogVideoX,
Mochi, Hunyuan.

The families differ only in data — which pipeline classes, which extra call arguments,
which step cache works, how held frames and regions reach the pipeline (``condition``:
LTX's condition pipeline, VACE's video and mask) — kept in ``FAMILIES``. Weights come from
a local directory (``Settings.model_paths``) or the hub id in the registry; the
``-tiny-random`` entries build the same pipeline classes in code.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from PIL import Image

from cinegen.config import Settings
from cinegen.engine.backends.base import Clips, RenderJob, Sound, StepHooks
from cinegen.engine.backends.device import pick_device_dtype
from cinegen.engine.backends.diffusers import ltx2
from cinegen.errors import ModelLoadError
from cinegen.media.keep import Keep
from cinegen.registry import ModelEntry

log = logging.getLogger(__name__)


def _first_block_cache() -> Any:
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


@dataclass(frozen=True)
class Family:
    t2v: str  # diffusers pipeline class names
    i2v: str | None = None
    # Extra keyword arguments for a call, from the job (e.g. LTX's frame_rate).
    extra: Callable[[RenderJob], dict[str, Any]] = lambda job: {}
    negative_prompt: bool = True  # Hunyuan's guidance is embedded: no negative branch
    cache: Callable[[], Any] | None = _first_block_cache
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
    "wan": Family(t2v="WanPipeline", i2v="WanImageToVideoPipeline", decode=_wan_decode),
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
}


@dataclass
class DiffusersVideoBackend:
    entry: ModelEntry
    settings: Settings
    family: Family = field(init=False)
    device: torch.device = field(init=False)
    dtype: torch.dtype = field(init=False)
    weights_from: str = field(init=False)  # a local directory or a hub id
    _pipes: dict[str, Any] = field(init=False, default_factory=dict)

    def __post_init__(self) -> None:
        self.family = FAMILIES[self.entry.family]
        self.device, self.dtype = pick_device_dtype(self.settings, self.entry.tiny_random)
        local = self.settings.model_paths.get(self.entry.id)
        self.weights_from = (
            "built in code" if self.entry.tiny_random else str(local or self.entry.weights)
        )
        main_task = "t2v" if self.entry.capabilities.text_to_video else "i2v"
        self._pipes[main_task] = self._place(self._load(main_task))

    # -- loading -----------------------------------------------------------------------
    def _load(self, task: str) -> Any:
        if self.entry.tiny_random:
            from cinegen.engine.backends.diffusers.tiny_twins import build_tiny_pipeline

            pipe = build_tiny_pipeline(self.entry.family, task)
            # Built in float32; casting with .to() only when asked for another dtype.
            return pipe if self.dtype == torch.float32 else pipe.to(dtype=self.dtype)
        import diffusers

        cls = getattr(diffusers, self._class_name(task))
        try:
            return cls.from_pretrained(self.weights_from, dtype=self.dtype)
        except (OSError, ValueError) as exc:
            env = "CINEGEN_MODEL_PATHS__" + self.entry.id.upper().replace("-", "_")
            where = "directory" if Path(self.weights_from).exists() else "hub id"
            raise ModelLoadError(
                f"could not load {self.entry.id} from {where} {self.weights_from!r} ({exc}). "
                f"Download the diffusers-format weights of {self.entry.weights} and point "
                f"{env} at that directory."
            ) from exc

    def _class_name(self, task: str) -> str:
        name = {"t2v": self.family.t2v, "i2v": self.family.i2v}.get(task, self.family.keyframes)
        if name is None:
            raise ModelLoadError(f"{self.entry.id} has no {task} pipeline")
        return name

    def _place(self, pipe: Any) -> Any:
        if self.settings.vae_tiling and hasattr(pipe.vae, "enable_tiling"):
            pipe.vae.enable_tiling()
        if self.device.type == "cuda" and self.settings.offload == "model":
            pipe.enable_model_cpu_offload()
        elif self.device.type == "cuda" and self.settings.offload == "sequential":
            pipe.enable_sequential_cpu_offload()
        else:
            pipe.to(self.device)
        pipe.set_progress_bar_config(disable=True)  # progress is ours to report
        return pipe

    def _pipe(self, task: str) -> Any:
        if task not in self._pipes:
            if not (self.family.i2v_shares_weights and "t2v" in self._pipes):
                raise ModelLoadError(f"{self.entry.id} cannot run {task}")
            import diffusers

            # Same weights, another pipeline class: no copy, no reload.
            cls = getattr(diffusers, self._class_name(task))
            self._pipes[task] = cls.from_pipe(self._pipes["t2v"])
            self._pipes[task].set_progress_bar_config(disable=True)
        return self._pipes[task]

    def _weights_or_none(self, load: Callable[[str], Any], where: str | None) -> Any:
        """``load(where)`` placed on the device, or None where it is not named or not there."""
        if where is None:
            return None
        try:
            module = load(where)
        except (OSError, ValueError) as exc:
            log.warning("%s: nothing usable at %s (%s)", self.entry.id, where, exc)
            return None
        return module.to(self.device)

    @functools.cached_property
    def _upsample(self) -> Any:
        """The latent upsample pipeline of a two-stage render, or None without its weights
        (then the quality preset renders in one stage, and ``describe`` says so)."""
        refine = self.family.refine
        if refine is None:
            return None
        import diffusers

        if self.entry.tiny_random:
            from cinegen.engine.backends.diffusers.tiny_ltx2 import build_latent_upsampler

            upsampler: Any = build_latent_upsampler()
            upsampler = upsampler.to(self.device)
            # Built in float32; casting with .to() only when asked for another dtype.
            upsampler = upsampler if self.dtype == torch.float32 else upsampler.to(self.dtype)
        else:
            cls = getattr(diffusers, refine.upsampler)
            upsampler = self._weights_or_none(
                lambda w: cls.from_pretrained(w, subfolder=refine.subfolder, dtype=self.dtype),
                self.weights_from,
            )
        if upsampler is None:
            return None
        main = next(iter(self._pipes.values()))
        pipe = getattr(diffusers, refine.upsample_pipeline)(
            vae=main.vae, latent_upsampler=upsampler
        )
        pipe.set_progress_bar_config(disable=True)
        return pipe

    @functools.cached_property
    def _distilled_transformer(self) -> Any:
        """The distilled weights' transformer, where the deployment names them (a local
        directory under ``<id>-distilled``, else the registry's hub id), or None.

        Trap: it stays loaded beside the full transformer (the rest of the two checkpoints
        is the same): twice the transformer's memory, unless offloading."""
        local = self.settings.model_paths.get(f"{self.entry.id}-distilled")
        where = str(local) if local else self.entry.distilled_weights
        if self.family.distilled is None or self.entry.tiny_random or where is None:
            return None
        cls = type(next(iter(self._pipes.values())).transformer)
        subfolder = self.family.distilled.subfolder
        return self._weights_or_none(
            lambda w: cls.from_pretrained(w, subfolder=subfolder, dtype=self.dtype), where
        )

    # -- rendering ---------------------------------------------------------------------
    def _task(self, job: RenderJob) -> str:
        plain_image = job.image is not None and job.source is None and not job.references
        if job.conditioned and not plain_image and self.family.condition is None:
            # The engine checks capabilities first; this guards against a silent text-to-video.
            raise ValueError(f"{self.entry.id} holds only a whole first frame")
        if job.conditioned and not plain_image and self.family.keyframes is not None:
            return "keyframes"
        # Families whose one pipeline takes every condition (Wan VACE) have no i2v class.
        return "i2v" if job.conditioned and self.family.i2v is not None else "t2v"

    def render(self, job: RenderJob, hooks: StepHooks) -> Clips:
        task = self._task(job)
        pipe = self._pipe(task)
        batched = not self.family.single and (task != "i2v" or self.family.batch_i2v)
        distilled = self.family.distilled if job.distilled else None
        transformer = self._distilled_transformer if distilled else None
        refine = self.family.refine if job.two_stage and self._upsample else None
        steps = len(distilled.sigmas) if transformer is not None and distilled else job.steps
        steps += len(refine.sigmas) if refine else 0
        # A batched call steps once for all variants; one call per seed steps V times.
        total = steps if batched else steps * len(job.seeds)

        def callback(at: RenderJob) -> Callable[..., dict[str, Any]]:
            def on_step_end(_p: Any, _i: int, _t: Any, kwargs: dict[str, Any]) -> dict[str, Any]:
                latents = kwargs["latents"]
                preview = (lambda: self._preview(pipe, latents, at)) if self._previews else None
                hooks.step(total, preview)  # raises Cancelled between steps when asked
                return kwargs

            return on_step_end

        common: dict[str, Any] = dict(
            height=job.height,
            width=job.width,
            num_frames=job.n_frames,
            num_inference_steps=job.steps,
            guidance_scale=job.guidance,
            output_type="np",
            callback_on_step_end=callback(job),
            **self.family.extra(job),
        )
        components: dict[str, Any] = {}
        if transformer is not None and distilled is not None:
            components = dict(transformer=transformer, scheduler=ltx2.exact_sigmas(pipe))
            common.update(sigmas=list(distilled.sigmas), guidance_scale=distilled.guidance)
            common["num_inference_steps"] = len(distilled.sigmas)
        hooks.check()
        groups = [job.seeds] if batched else [[seed] for seed in job.seeds]
        call = functools.partial(self._call, pipe, common, job, refine=refine, callback=callback)
        with (
            ltx2.swapped(pipe, **components),
            _step_cache(
                components.get("transformer", pipe.transformer),
                self.family.cache if job.cache else None,
            ),
        ):
            parts = [call(seeds) for seeds in groups]
        frames = np.concatenate([f for f, _ in parts]).astype(np.float32, copy=False)
        sounds = [s for _, s in parts if s is not None]
        if len(sounds) < len(parts):
            return Clips(frames)
        return Clips(frames, Sound(np.concatenate([s.samples for s in sounds]), sounds[0].rate))

    def _call(
        self,
        pipe: Any,
        common: dict[str, Any],
        job: RenderJob,
        seeds: list[int],
        *,
        refine: ltx2.Refine | None,
        callback: ltx2.Callback,
    ) -> tuple[np.ndarray, Sound | None]:
        n = len(seeds)
        prompt, negative = self.family.prompts(job)
        kwargs = dict(common, prompt=[prompt] * n)
        if self.family.negative_prompt:
            kwargs["negative_prompt"] = [negative] * n
        if self.family.condition is not None and job.conditioned:
            kwargs.update(self.family.condition(pipe, job, n))
        elif job.image is not None:
            image = Image.fromarray(job.image)
            kwargs["image"] = [image] * n if self.family.image_per_video else image
        # One generator per video: variant i depends only on its own seed.
        generators = [torch.Generator("cpu").manual_seed(s) for s in seeds]
        if self.family.single:
            kwargs["prompt"], kwargs["negative_prompt"] = prompt, negative
        kwargs["generator"] = generators[0] if self.family.single else generators
        with torch.inference_mode():
            if refine is not None:
                out = ltx2.two_stages(
                    pipe, upsample=self._upsample, refine=refine, kwargs=kwargs, job=job,
                    callback=callback,
                )  # fmt: skip
            else:
                out = pipe(**kwargs)
        # The pipeline makes sound either way; a job that wants none drops it.
        wanted = self.family.sound is not None and job.sound
        sound = self.family.sound(pipe, out, job) if wanted and self.family.sound else None
        return np.asarray(out.frames), sound  # (V, F, H, W, 3)

    @property
    def _previews(self) -> bool:
        """Whether to offer previews: with offloading, every decode would move the VAE to
        the GPU and the transformer off it, once a second."""
        return self.family.decode is not None and self.settings.offload == "none"

    def _preview(self, pipe: Any, latents: torch.Tensor, job: RenderJob) -> np.ndarray:
        """The first video's first frame as sampling stands (its noisy latents decoded),
        (H, W, 3) uint8."""
        assert self.family.decode is not None
        with torch.inference_mode():
            video = self.family.decode(pipe, latents.to(pipe.vae.dtype), job)
        frames = np.asarray(pipe.video_processor.postprocess_video(video, output_type="np"))
        frame: np.ndarray = np.round(frames[0, 0] * 255).astype(np.uint8)
        return frame

    def describe(self) -> dict[str, Any]:
        return {
            "device": str(self.device),
            "dtype": str(self.dtype).removeprefix("torch."),
            "negative_prompt": self.family.negative_prompt,
            # What the presets found, once used: the upsampler, the distilled weights.
            **{
                name: self.__dict__[attr] is not None
                for name, attr in (
                    ("two_stage", "_upsample"),
                    ("distilled", "_distilled_transformer"),
                )
                if attr in self.__dict__
            },
        }


class _step_cache:
    """Turn diffusers' step cache on for one call, and off again whatever happens."""

    def __init__(self, transformer: Any, make_config: Callable[[], Any] | None) -> None:
        self.transformer, self.make_config = transformer, make_config

    def __enter__(self) -> None:
        if self.make_config is not None:
            self.transformer.enable_cache(self.make_config())

    def __exit__(self, *exc: object) -> None:
        if self.make_config is not None:
            self.transformer.disable_cache()
