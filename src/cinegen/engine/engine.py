"""Engine.run(): spec -> frames, exactly as asked. Pure: no HTTP, no database.

The engine plans (validating against the registry before anything loads), lays the
operation out on the timeline (``operations.py``: segments to render, pixels to hold),
keeps loaded models for reuse, renders each segment on the model's native grid (``grid.py``:
what the render holds) with per-step progress and cooperative cancellation, and assembles
each variant at exactly the requested size and frame count, the given pixels pasted back
exactly.
"""

from __future__ import annotations

import dataclasses
import functools
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from cinegen.config import Settings, get_settings
from cinegen.engine import sound
from cinegen.engine.backends.base import (
    Backend,
    Clips,
    RenderJob,
    Sound,
    Soundtrack,
    StepHooks,
    load_backend,
    load_soundtrack,
)
from cinegen.engine.grid import native_keep, native_source
from cinegen.engine.layout import Layout, Placed, Segment, paste
from cinegen.engine.operations import lay_out
from cinegen.engine.plan import RenderPlan, plan
from cinegen.engine.seams import candidate_seeds, smoothest
from cinegen.engine.sources import MediaResolver, given_references, reference_pictures
from cinegen.engine.windows import in_windows
from cinegen.media.resample import resample_video
from cinegen.progress import PreviewFn, ProgressFn, Stage
from cinegen.spec import GenerationSpec


@dataclass(frozen=True)
class Piece:
    """One segment rendered: native frames per variant, still to be resampled."""

    segment: Segment
    native: np.ndarray  # (V, F, h, w, 3) float32 in [0, 1]
    native_fps: float
    sound: Sound | None = None  # made with the picture, over the same window (Capabilities.sound)

    def frames(self, i: int, width: int, height: int, timeline: range) -> np.ndarray:
        """Variant ``i``'s timeline frames ``timeline`` (within the segment's window) at
        ``width`` x ``height``, uint8."""
        window = self.segment.window
        first, stop = timeline.start - window.start, timeline.stop - window.start
        return resample_video(self.native[i], len(window), width, height, first=first, stop=stop)


@dataclass
class Rendered:
    """A finished render: the layout and its pieces, still to be assembled per variant."""

    plan: RenderPlan
    layout: Layout
    pieces: list[Piece]
    timings: dict[str, float]
    backend: dict[str, Any]  # Backend.describe(): device, dtype, negative_prompt
    # The video-to-audio model that makes the sound after the picture (ModelEntry.soundtrack),
    # loaded when the videos carry sound and the model makes none with the picture.
    soundtrack: Soundtrack | None = None

    @property
    def native(self) -> np.ndarray:
        """The first piece's native frames (the whole render for one-segment operations)."""
        return self.pieces[0].native

    @property
    def uses_negative_prompt(self) -> bool:
        return bool(self.backend.get("negative_prompt", True))

    def variant(self, i: int, on_progress: ProgressFn | None = None) -> np.ndarray:
        """Variant ``i`` at exactly the requested frames and size, uint8: each piece's own
        frames, then the given pixels pasted back exactly."""
        spec = self.plan.spec
        out = np.empty((spec.n_frames, spec.height, spec.width, 3), np.uint8)
        for k, piece in enumerate(self.pieces):
            seg = piece.segment
            own = range(seg.start, min(seg.stop, spec.n_frames))
            out[own.start : own.stop] = piece.frames(i, spec.width, spec.height, own)
            if on_progress:
                on_progress(Stage.resample, k + 1, len(self.pieces))
        return paste(self.layout, out)

    @property
    def keeps_sound(self) -> bool:
        """Whether the videos keep sound given with their media (an operation's source)."""
        return any(p.keeps_sound and p.sound is not None for p in self.layout.placed)

    @property
    def sound_maker(self) -> dict[str, Any]:
        """For the sidecar: what made the sound (the model with its picture, or a
        soundtrack model after it, and its weights)."""
        if self.soundtrack is not None:
            return {"with_picture": False, **self.soundtrack.describe()}
        return {"with_picture": True, "model": self.plan.model.id}

    def sound(self, i: int, frames: np.ndarray) -> np.ndarray | None:
        """Variant ``i``'s sound over the whole video, stereo at ``media.audio.RATE`` and
        exactly as long as its frames (``frames``: the variant, as ``variant(i)`` gave it),
        or None when the videos carry none (``RenderPlan.sound``).

        A model that makes sound with the picture gave each piece its sound over the piece's
        window: each is laid under the frames the piece made, joined with crossfades.
        Otherwise the soundtrack model hears the finished frames."""
        p = self.plan
        if not p.sound:
            return None
        t0 = time.perf_counter()
        if self.soundtrack is not None:
            made = [
                sound.heard(self.soundtrack, frames, p, i, piece.segment) for piece in self.pieces
            ]
        else:
            made = [
                sound.rendered(piece.segment, piece.sound, p.spec, i)
                for piece in self.pieces
                if piece.sound is not None
            ]
        remix = self.layout.remix
        strength = p.model.capabilities.remix_strength(remix.strength) if remix else 1.0
        track = sound.timeline(self.layout, made, p.spec, strength)
        self.timings["sound_s"] = self.timings.get("sound_s", 0.0) + time.perf_counter() - t0
        return track

    def native_windows(self) -> list[dict[str, Any]]:
        """For the sidecar: each render's timeline window and native frames."""
        return [
            {
                "start": p.segment.window.start,
                "stop": p.segment.window.stop,
                "n_frames": p.native.shape[1],
                "fps": p.native_fps,
            }
            for p in self.pieces
        ]


@dataclass
class Engine:
    settings: Settings = field(default_factory=get_settings)
    _loaded: dict[str, Backend] = field(default_factory=dict, init=False)
    _soundtracks: dict[str, Soundtrack] = field(default_factory=dict, init=False)

    def plan(self, spec: GenerationSpec) -> RenderPlan:
        """Validate against the registry and choose the grid. Loads nothing."""
        return plan(spec, self.settings)

    @property
    def loaded(self) -> tuple[str, ...]:
        """The models loaded now, least recently used first (workers route claims by it)."""
        return tuple(self._loaded)

    def backend(self, model_id: str, on_progress: ProgressFn | None = None) -> Backend:
        """The loaded backend for a model, loading it on first use.

        At most ``settings.max_loaded_models`` stay loaded; the least recently used goes
        first, so a worker that switches between large models does not run out of memory.
        """
        if model_id in self._loaded:
            self._loaded[model_id] = self._loaded.pop(model_id)  # most recently used last
            return self._loaded[model_id]
        from cinegen.registry import MODELS

        while len(self._loaded) >= self.settings.max_loaded_models:
            del self._loaded[next(iter(self._loaded))]
        if on_progress:
            on_progress(Stage.load, 0, 1)
        self._loaded[model_id] = load_backend(MODELS[model_id], self.settings)
        if on_progress:
            on_progress(Stage.load, 1, 1)
        return self._loaded[model_id]

    def soundtrack(self, model_id: str) -> Soundtrack:
        """The loaded video-to-audio model of a model (``ModelEntry.soundtrack``), loading
        it on first use; it is small, and stays loaded."""
        if model_id not in self._soundtracks:
            from cinegen.registry import MODELS

            self._soundtracks[model_id] = load_soundtrack(MODELS[model_id], self.settings)
        return self._soundtracks[model_id]

    def run(
        self,
        request: GenerationSpec | RenderPlan,
        on_progress: ProgressFn | None = None,
        should_stop: Callable[[], bool] | None = None,
        media: MediaResolver | None = None,
        on_preview: PreviewFn | None = None,
    ) -> Rendered:
        """Render a spec (planned here) or a plan already made with ``plan()``."""
        # 1. check inputs against the registry and read the media, before any weights load
        render_plan = request if isinstance(request, RenderPlan) else self.plan(request)
        layout = lay_out(render_plan.spec, media)
        if render_plan.longest_render is not None:  # long video: windows, each continuing
            layout = in_windows(layout, render_plan.longest_render, render_plan.window_overlap)
        windows = [render_plan.window(len(seg.window)) for seg in layout.segments]
        references: dict[str, np.ndarray] = {}
        given: tuple[np.ndarray, ...] = ()
        if render_plan.model.capabilities.reference_images:
            references = reference_pictures(render_plan.spec, media)
            given = given_references(render_plan.spec, media)
        timings: dict[str, float] = {}
        # 2. load (or reuse) the model
        t0 = time.perf_counter()
        backend = self.backend(render_plan.model.id, on_progress)
        timings["load_s"] = time.perf_counter() - t0
        # 3. denoise each segment on the native grid, after the ones it joins
        t0 = time.perf_counter()
        renders = _Renders(
            render_plan, layout, references, on_progress, should_stop, on_preview, given=given
        )
        for seg, (frames, fps) in zip(layout.segments, windows, strict=True):
            renders.add(backend, seg, frames, fps)
        timings["render_s"] = time.perf_counter() - t0
        soundtrack = None
        if render_plan.sound and not render_plan.model.capabilities.sound:
            soundtrack = self.soundtrack(render_plan.model.id)
        described = backend.describe()
        return Rendered(render_plan, layout, renders.pieces, timings, described, soundtrack)


@dataclass
class _Renders:
    """Renders a layout's segments in order, with progress across all of them."""

    plan: RenderPlan
    layout: Layout
    references: dict[str, np.ndarray]  # character name -> picture (models that take them)
    on_progress: ProgressFn | None
    should_stop: Callable[[], bool] | None
    on_preview: PreviewFn | None
    given: tuple[np.ndarray, ...] = ()  # the request's reference_images, seen by every render
    pieces: list[Piece] = field(default_factory=list)
    _jobs_done: int = 0

    def add(self, backend: Backend, seg: Segment, native_frames: int, native_fps: float) -> None:
        p, spec = self.plan, self.plan.spec
        native_size, output_size = (p.native_width, p.native_height), (spec.width, spec.height)
        source = None
        if self.layout.remix is not None:
            source = native_source(
                self.layout.remix, seg.window, native_frames, native_size, output_size
            )
        remix = self.layout.remix
        job = dataclasses.replace(
            render_job(p, native_frames, native_fps),
            prompt=p.styled(seg.prompt),
            source=source,
            strength=p.model.capabilities.remix_strength(remix.strength) if remix else 1.0,
            references=self.given
            + tuple(
                self.references[c.name]
                for c in spec.characters_in(seg.prompt)
                if c.name in self.references
            ),
        )
        joined = [q for q in self.pieces if _overlaps(q.segment, seg)]
        if not joined:  # what it holds is the same for every variant: one batched render
            keep = None
            if self.layout.placed:
                keep = native_keep(
                    self.layout.held_at, seg.window, native_frames, native_size, output_size
                )
            clips = self._render(backend, dataclasses.replace(job, keep=keep))
        else:  # it holds frames rendered before, which differ per variant: one at a time
            videos = []
            tries = p.model.capabilities.seam_candidates
            for i, seed in enumerate(p.seeds):
                held = _with_rendered(self.layout, joined, seg, i, output_size)
                keep = native_keep(held, seg.window, native_frames, native_size, output_size)
                seeds = candidate_seeds(seed, tries)
                tried = self._render(
                    backend, dataclasses.replace(job, seeds=seeds, keep=keep, continues=True)
                )
                videos.append(smoothest(tried, keep))
            clips = _concatenate(videos)
        self.pieces.append(Piece(seg, clips.frames, native_fps, clips.sound))

    def _render(self, backend: Backend, job: RenderJob) -> Clips:
        # a render that holds pixels, and every piece of a video made of several (windows,
        # shots: one guidance throughout, or motion changes at the seams)
        conditioned = job.keep is not None or job.source is not None
        conditioned = conditioned or len(self.layout.segments) > 1
        job = dataclasses.replace(job, guidance=self.plan.preset_config.guidance_for(conditioned))
        total_jobs, done = self._total_jobs, self._jobs_done
        hooks = StepHooks(on_preview=self.on_preview)
        if self.on_progress:
            report = self.on_progress
            if total_jobs == 1:  # the backend's own steps
                hooks.on_step = lambda d, t: report(Stage.denoise, d, t)
            else:  # each call counts as job.steps, however the backend counts its steps
                steps = job.steps
                hooks.on_step = lambda d, t: report(
                    Stage.denoise, done * steps + round(d / t * steps), total_jobs * steps
                )
        if self.should_stop:
            hooks.should_stop = self.should_stop
        clips = backend.render(job, hooks)
        self._jobs_done += 1
        return clips

    @functools.cached_property
    def _total_jobs(self) -> int:
        """Backend calls for the whole layout: one per segment, or one per variant for a
        segment that joins an earlier one."""
        segments, variants = self.layout.segments, len(self.plan.seeds)
        return sum(
            variants if any(_overlaps(a, b) for a in segments[:k]) else 1
            for k, b in enumerate(segments)
        )


def _concatenate(parts: list[Clips]) -> Clips:
    """One render per variant, as one."""
    frames = np.concatenate([c.frames for c in parts])
    sounds = [c.sound for c in parts if c.sound is not None]
    if len(sounds) < len(parts):
        return Clips(frames)
    return Clips(frames, Sound(np.concatenate([s.samples for s in sounds]), sounds[0].rate))


def render_job(p: RenderPlan, native_frames: int, native_fps: float) -> RenderJob:
    """One render of a plan on its native grid, before any pixels to hold or source."""
    return RenderJob(
        prompt=p.prompt,
        negative_prompt=p.negative_prompt,
        width=p.native_width,
        height=p.native_height,
        n_frames=native_frames,
        fps=native_fps,
        seeds=p.seeds,
        steps=p.preset_config.steps,
        guidance=p.preset_config.guidance,
        cache=p.preset_config.cache,
        two_stage=p.preset_config.two_stage,
        distilled=p.preset_config.distilled,
        shift=p.preset_config.shift,
        sound=p.sound and p.model.capabilities.sound,
        audio_prompt=p.spec.audio_prompt or "",
        negative_audio_prompt=p.spec.negative_audio_prompt or "",
        loras=p.loras,
    )


def _overlaps(a: Segment, b: Segment) -> bool:
    """Whether ``b``'s window reaches into the frames ``a`` renders."""
    return b.window.start < a.stop and a.start < b.window.stop


def _with_rendered(
    layout: Layout, joined: list[Piece], seg: Segment, i: int, output_size: tuple[int, int]
) -> Callable[[int], list[Placed]]:
    """What a segment holds at each timeline frame: the layout's given pixels and, outside
    the segment's own frames, variant ``i`` of the pieces it joins (at output size)."""
    width, height = output_size
    rendered: list[Placed] = []
    for piece in joined:
        own = range(piece.segment.start, piece.segment.stop)
        shared = range(max(own.start, seg.window.start), min(own.stop, seg.window.stop))
        shared_context = [t for t in shared if not seg.start <= t < seg.stop]
        if shared_context:
            span = range(shared_context[0], shared_context[-1] + 1)
            frames = paste(layout, piece.frames(i, width, height, span), first=span.start)
            rendered.append(Placed(frames, span.start))
    return lambda t: [*layout.held_at(t), *(p for p in rendered if p.start <= t < p.stop)]
