"""Every diffusers video family behind one ``Backend``: LTX, LTX-2, Kandinsky 6, Wan, Wan 2.2,
Wan VACE, CogVideoX, Mochi, Hunyuan, HunyuanVideo 1.5, SkyReels-V2, SANA-Video.

``DiffusersVideoBackend`` loads a model's pipelines, batches its variants, runs the step
cache, the previews and the presets' two stages; what differs between families is data, the
model's row of ``families.FAMILIES``. Weights come from a local directory
(``Settings.model_paths``) or the hub id in the registry, loaded by ``loading.py``; the
``-tiny-random`` entries build the same pipeline classes in code.
"""

from __future__ import annotations

import contextlib
import functools
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
from PIL import Image

from cinegen.config import Settings
from cinegen.engine import memory
from cinegen.engine.backends.base import Clips, RenderJob, Sound, StepHooks
from cinegen.engine.backends.device import pick_device_dtype
from cinegen.engine.backends.diffusers import loading, lora, ltx2, parallel, placement
from cinegen.engine.backends.diffusers.families import FAMILIES, Family
from cinegen.errors import ModelLoadError
from cinegen.registry import ModelEntry

log = logging.getLogger(__name__)


@dataclass
class DiffusersVideoBackend:
    entry: ModelEntry
    settings: Settings
    family: Family = field(init=False)
    device: torch.device = field(init=False)
    dtype: torch.dtype = field(init=False)
    weights_from: str = field(init=False)  # a local directory or a hub id
    quantize: memory.Quantize = field(init=False)  # CINEGEN_QUANTIZE (loaded weights only)
    placement: memory.Choice = field(init=False)  # the memory tier (CINEGEN_MEMORY)
    _pipes: dict[str, Any] = field(init=False, default_factory=dict)
    _windows: dict[str, Any] | None = field(init=False, default=None)  # the last render's
    _split: str | None = field(init=False, default=None)  # over a GPU group (parallel.py)

    def __post_init__(self) -> None:
        self.family = FAMILIES[self.entry.family]
        self.device, self.dtype = pick_device_dtype(self.settings, self.entry.tiny_random)
        local = self.settings.model_paths.get(self.entry.id)
        self.weights_from = (
            "built in code" if self.entry.tiny_random else str(local or self.entry.weights)
        )
        self.quantize = "none" if self.entry.tiny_random else self.settings.quantize
        self.placement = self._choose_placement()
        main_task = "t2v" if self.entry.capabilities.text_to_video else "i2v"
        main = loading.load_pipeline(
            self.entry,
            self.family,
            main_task,
            device=self.device,
            dtype=self.dtype,
            weights_from=self.weights_from,
            quantize=self.quantize,
        )
        self._pipes[main_task] = self._place(main)
        if lora.pinned(self.settings, self.entry.id):
            self._adapters.use(self._adapters.pinned)  # they load (and fuse) with the model

    # -- loading -----------------------------------------------------------------------
    def _choose_placement(self) -> memory.Choice:
        """The memory tier for this model on this device, from its need and the memory free
        now (``engine/memory.py``); the settings force a tier or the tiling."""
        need = memory.need(
            self.entry,
            dtype_bytes=self.dtype.itemsize,
            quantize=self.quantize,
        )
        choice = memory.choose(
            need,
            free=memory.free_bytes(str(self.device)),
            device=self.device.type,
            tier=self.settings.memory,
            vae_tiling=self.settings.vae_tiling,
        )
        log.info("%s: memory tier %s (%s)", self.entry.id, choice.tier, choice.reason)
        return choice

    def _place(self, pipe: Any) -> Any:
        placement.place(pipe, self.device, self.placement)
        # In a GPU group (jobs/group.py), every rank holds it and splits each video's tokens.
        self._split = parallel.split_over_group(pipe) or self._split
        pipe.set_progress_bar_config(disable=True)  # progress is ours to report
        return pipe

    def _pipe(self, task: str) -> Any:
        if task not in self._pipes:
            if not (self.family.i2v_shares_weights and "t2v" in self._pipes):
                raise ModelLoadError(f"{self.entry.id} cannot run {task}")
            name = loading.class_name(self.entry, self.family, task)
            self._pipes[task] = loading.sibling(self._pipes["t2v"], name)
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
        return placement.place_module(module, self.device, self.placement)

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
        quantized = placement.transformer_quantization(self.quantize, self.device)
        return self._weights_or_none(
            lambda w: cls.from_pretrained(
                w, subfolder=subfolder, dtype=self.dtype, quantization_config=quantized
            ),
            where,
        )

    @functools.cached_property
    def _adapters(self) -> lora.Adapters:
        """The LoRA adapters, in the main pipeline's modules (which every task's pipeline
        shares). Trap: not in the distilled transformer, which only the turbo preset runs."""
        return lora.Adapters(
            next(iter(self._pipes.values())),
            where=lora.folder(self.settings, self.entry.id),
            pinned=lora.pinned(self.settings, self.entry.id),
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
        if job.loras or "_adapters" in self.__dict__:
            self._adapters.use(job.loras)
        pipe = self._pipe(task)
        forcing = self.family.forcing
        batched = not self.family.single and forcing is None
        batched = batched and (task != "i2v" or self.family.batch_i2v)
        # LoRAs live in the main transformer: a render that names some keeps it (at the
        # preset's steps) rather than drop them silently on the distilled weights.
        distilled = self.family.distilled if job.distilled and not job.loras else None
        transformer = self._distilled_transformer if distilled else None
        refine = self.family.refine if job.two_stage and self._upsample else None
        steps = len(distilled.sigmas) if transformer is not None and distilled else job.steps
        steps += len(refine.sigmas) if refine else 0
        steps *= forcing.windows(job) if forcing else 1  # each window steps through them all
        self._windows = forcing.describe(job) if forcing else None
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
            num_inference_steps=job.steps,
            guidance_scale=job.guidance,
            output_type="np",
            callback_on_step_end=callback(job),
            **{self.family.frames_keyword: job.n_frames},
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
                [components.get("transformer", pipe.transformer), *_experts_after_first(pipe)],
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
        forcing = self.family.forcing
        seeded = forcing.seeded(seeds[0], self.device) if forcing else contextlib.nullcontext()
        with torch.inference_mode(), seeded:
            if refine is not None:
                out = ltx2.two_stages(
                    pipe, upsample=self._upsample, refine=refine, kwargs=kwargs, job=job,
                    callback=callback,
                )  # fmt: skip
            else:
                out = self.family.call(pipe, kwargs)
        # The pipeline makes sound either way; a job that wants none drops it.
        wanted = self.family.sound is not None and job.sound
        sound = self.family.sound(pipe, out, job) if wanted and self.family.sound else None
        frames = forcing.frames(out, job) if forcing else np.asarray(out.frames)
        return frames, sound  # (V, F, H, W, 3)

    @property
    def _previews(self) -> bool:
        """Whether to offer previews: with offloading, every decode would move the VAE to
        the GPU and the transformer off it, once a second."""
        return self.family.decode is not None and self.placement.tier == "full"

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
            # Diffusion forcing: the windows the last render ran in.
            **({"long_video": self._windows} if self._windows else {}),
            # Where the weights live (CPU: always full) and why; the transformer's weights.
            "memory": self.placement.tier,
            "memory_reason": self.placement.reason,
            "vae_tiling": self.placement.vae_tiling,
            "quantize": self.quantize,
            # Context parallelism over a GPU group: how the tokens were split, if they were.
            **({"split": self._split} if self._split else {}),
            # What the presets found, once used: the upsampler, the distilled weights.
            **{
                name: self.__dict__[attr] is not None
                for name, attr in (
                    ("two_stage", "_upsample"),
                    ("distilled", "_distilled_transformer"),
                )
                if attr in self.__dict__
            },
            **({"loras_fused": self._adapters.fused} if "_adapters" in self.__dict__ else {}),
        }


def _experts_after_first(pipe: Any) -> list[Any]:
    """The denoisers a pipeline holds beside ``transformer``: Wan 2.2's low-noise expert."""
    second = getattr(pipe, "transformer_2", None)
    return [] if second is None else [second]


class _step_cache:
    """Turn diffusers' step cache on for one call, on every denoiser (each expert keeps its
    own cache), and off again whatever happens."""

    def __init__(self, transformers: list[Any], make_config: Callable[[], Any] | None) -> None:
        self.transformers, self.make_config = transformers, make_config

    def __enter__(self) -> None:
        if self.make_config is not None:
            for transformer in self.transformers:
                transformer.enable_cache(self.make_config())

    def __exit__(self, *exc: object) -> None:
        if self.make_config is not None:
            for transformer in self.transformers:
                transformer.disable_cache()
