"""Engine.run(): spec -> frames, exactly as asked. Pure: no HTTP, no database.

The engine plans (validating against the registry before anything loads), keeps
loaded models for reuse, renders on the model's native grid with per-step
progress and cooperative cancellation, and resamples each variant to exactly the
requested size and frame count.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np

from cinegen.config import Settings, get_settings
from cinegen.engine.backends.base import Backend, RenderJob, StepHooks
from cinegen.engine.plan import RenderPlan, plan
from cinegen.engine.resample import resample_video
from cinegen.errors import SpecError
from cinegen.spec import GenerationSpec, InpaintItem

# (stage, done, total): stages are "load", "denoise", "resample" here; generation.py
# adds "watermark" and "encode".
ProgressFn = Callable[[str, int, int], None]
# A small frame of where denoising is heading: (h, w, 3) uint8, from backends that can.
PreviewFn = Callable[[np.ndarray], None]


class MediaResolver(Protocol):
    """Turns an upload or generation id into pixels: (F, H, W, 3) uint8."""

    def __call__(self, item: InpaintItem) -> np.ndarray: ...


@dataclass
class Rendered:
    """A finished render: native frames per variant, still to be resampled."""

    plan: RenderPlan
    native: np.ndarray  # (V, F, h, w, 3) float32 in [0, 1]
    timings: dict[str, float]
    backend: dict[str, Any]  # Backend.describe(): device, dtype, negative_prompt

    @property
    def uses_negative_prompt(self) -> bool:
        return bool(self.backend.get("negative_prompt", True))

    def variant(self, i: int, on_progress: ProgressFn | None = None) -> np.ndarray:
        """Variant ``i`` at exactly the requested frames and size, uint8."""
        spec = self.plan.spec
        report = (lambda d, t: on_progress("resample", d, t)) if on_progress else None
        return resample_video(self.native[i], spec.n_frames, spec.width, spec.height, report)


@dataclass
class Engine:
    settings: Settings = field(default_factory=get_settings)
    _loaded: dict[str, Backend] = field(default_factory=dict, init=False)

    def plan(self, spec: GenerationSpec) -> RenderPlan:
        """Validate against the registry and choose the grid. Loads nothing."""
        return plan(spec, self.settings)

    def backend(self, model_id: str, on_progress: ProgressFn | None = None) -> Backend:
        """The loaded backend for a model, loading it on first use.

        At most ``settings.max_loaded_models`` stay loaded; the least recently used goes
        first, so a worker that switches between large models does not run out of memory.
        """
        if model_id in self._loaded:
            self._loaded[model_id] = self._loaded.pop(model_id)  # most recently used last
            return self._loaded[model_id]
        from cinegen.engine.registry import MODELS

        while len(self._loaded) >= self.settings.max_loaded_models:
            del self._loaded[next(iter(self._loaded))]
        if on_progress:
            on_progress("load", 0, 1)
        self._loaded[model_id] = MODELS[model_id].load(self.settings)
        if on_progress:
            on_progress("load", 1, 1)
        return self._loaded[model_id]

    def run(
        self,
        request: GenerationSpec | RenderPlan,
        on_progress: ProgressFn | None = None,
        should_stop: Callable[[], bool] | None = None,
        media: MediaResolver | None = None,
        on_preview: PreviewFn | None = None,
    ) -> Rendered:
        """Render a spec (planned here) or a plan already made with ``plan()``."""
        # 1. check inputs against the registry, before any weights load
        render_plan = request if isinstance(request, RenderPlan) else self.plan(request)
        first_frame = _first_frame(render_plan, media)
        timings: dict[str, float] = {}
        # 2. load (or reuse) the model
        t0 = time.perf_counter()
        backend = self.backend(render_plan.model.id, on_progress)
        timings["load_s"] = time.perf_counter() - t0
        # 3. denoise on the native grid
        hooks = StepHooks(on_preview=on_preview)
        if on_progress:
            hooks.on_step = lambda done, total: on_progress("denoise", done, total)
        if should_stop:
            hooks.should_stop = should_stop
        t0 = time.perf_counter()
        native = backend.render(render_job(render_plan, first_frame), hooks)
        timings["render_s"] = time.perf_counter() - t0
        return Rendered(render_plan, native, timings, backend.describe())


def render_job(p: RenderPlan, image: np.ndarray | None) -> RenderJob:
    return RenderJob(
        prompt=p.prompt,
        negative_prompt=p.negative_prompt,
        width=p.native_width,
        height=p.native_height,
        n_frames=p.native_frames,
        fps=p.native_fps,
        seeds=p.seeds,
        steps=p.preset_config.steps,
        guidance=p.preset_config.guidance,
        cache=p.preset_config.cache,
        image=image,
    )


def _first_frame(p: RenderPlan, media: MediaResolver | None) -> np.ndarray | None:
    """The image item at frame 0, cropped and sized to the native grid, if any."""
    items = p.spec.inpaint_items
    if not items:
        return None
    caps = p.model.capabilities
    item = items[0]
    if len(items) > 1 or item.type != "image" or item.frame_index != 0:
        raise SpecError(
            "inpaint_items",
            "this version conditions on one image at frame_index 0",
            allowed="[{type: image, frame_index: 0, ...}]",
        )
    if not caps.image_to_video:
        from cinegen.engine.registry import MODELS

        able = [m.id for m in MODELS.values() if m.capabilities.image_to_video]
        raise SpecError(
            "model", "cannot animate an image", value=p.model.id, allowed=", ".join(able)
        )
    if media is None:
        raise SpecError("inpaint_items.0", "no media store is available to resolve it")
    pixels = media(item)
    return _crop_resize(pixels[0], item.crop_bounds.bounds, p.native_width, p.native_height)


def _crop_resize(
    frame: np.ndarray, bounds: tuple[float, float, float, float], width: int, height: int
) -> np.ndarray:
    from PIL import Image

    h, w = frame.shape[:2]
    x0, y0, x1, y1 = bounds
    box = (round(x0 * w), round(y0 * h), max(round(x1 * w), 1), max(round(y1 * h), 1))
    image = Image.fromarray(frame).crop(box).resize((width, height), Image.Resampling.LANCZOS)
    return np.asarray(image, dtype=np.uint8)
