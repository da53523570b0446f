"""``cinegen.generate(spec) -> Result``: a prompt to finished files, from Python or the CLI.

The recipe, one variant at a time so that memory holds one full-size clip at most:
resample to exactly the requested grid, stamp the visible mark and hide the invisible one
(this server and the task, provenance/invisible_watermark.py), encode H.264 (or
write a PNG for ``image_gen``), write the thumbnail and spritesheet, sign a C2PA manifest
into each (those files, and where they go: ``files.py``), and record everything in a JSON
sidecar. Every file is written atomically.
"""

from __future__ import annotations

import json
import platform
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from cinegen.config import Settings
from cinegen.engine.engine import Engine, Rendered
from cinegen.engine.sources import MediaResolver, SoundResolver, SourceSound
from cinegen.errors import Cancelled, SpecError
from cinegen.files import OutputLayout, VariantFiles, sign_variant, write_variant
from cinegen.media import encode
from cinegen.media.atomic import atomic_path
from cinegen.media.watermark import VisibleMark
from cinegen.progress import PreviewFn, ProgressFn, Stage
from cinegen.provenance import invisible_watermark
from cinegen.provenance.identity import SigningIdentity, load_identity
from cinegen.provenance.payload import Payload, server_mark, task_mark
from cinegen.safety.moderation import check_request
from cinegen.safety.output import check_given
from cinegen.shot_planner import shots_for
from cinegen.spec import GenerationSpec, GenerationType
from cinegen.spec_parts import InpaintItem
from cinegen.version import __version__

__all__ = ["Result", "VariantFiles", "generate"]


@dataclass(frozen=True)
class Result:
    variants: list[VariantFiles]
    sidecar: Path
    metadata: dict[str, Any]

    def to_json(self) -> dict[str, Any]:
        files = [
            {k: str(v) if isinstance(v, Path) else v for k, v in asdict(f).items()}
            for f in self.variants
        ]
        return {"sidecar": str(self.sidecar), "variants": files, **self.metadata}


def generate(
    spec: GenerationSpec,
    *,
    out: Path | None = None,
    engine: Engine | None = None,
    on_progress: ProgressFn | None = None,
    should_stop: Callable[[], bool] | None = None,
    media: MediaResolver | None = None,
    on_preview: PreviewFn | None = None,
    parents: Sequence[Path] = (),
    provenance: dict[str, Any] | None = None,
    keep_master: bool = False,
    inputs_moderated: bool = False,
) -> Result:
    """Render ``spec`` and write its files; ``parents`` are the files an operation started
    from (its source videos), named as ingredients in each file's C2PA manifest, and
    ``provenance`` more facts for it (the server's task id). ``keep_master`` also writes
    each variant's frames before any mark (``VariantFiles.master``).

    The content policy of ``engine.settings`` applies as on the server: the request's words
    and every picture it starts from (raising ``ContentPolicyViolation`` before any weights
    load), then what the model made. ``inputs_moderated`` says the first two were checked
    already (a server task, when it was created)."""
    engine = engine or Engine()
    settings = engine.settings
    # 1. everything a user can get wrong, checked before any weights load
    plan = engine.plan(spec)
    if not inputs_moderated:
        check_request(spec, settings)
        media = _screened(media, settings)  # as the pictures are read, before the model loads
    mark = _visible_mark(settings)
    marks = settings.invisible_mark and invisible_watermark.can_mark(spec.width, spec.height)
    # Loaded once: it signs the files (C2PA) and its trust anchors name the server in the mark.
    identity = load_identity(settings) if settings.c2pa or marks else None
    payload = _invisible_payload(spec, identity, provenance or {}) if identity and marks else None
    layout = OutputLayout.choose(out, spec, settings)
    # 2. the shot planner's next shots (the Sora dialect's ``actions``), before the render:
    # a chat model may take seconds to answer, and never fails the generation
    shots = shots_for(spec.prompt, settings)[1:] if spec.type is GenerationType.video_gen else []
    # 3. render every variant on the model's grid
    rendered = engine.run(plan, on_progress, should_stop, media, on_preview)
    # 4. files, one variant at a time; a failure or a cancel removes what this run wrote
    written: list[Path] = []
    t0 = time.perf_counter()
    try:
        layout.create()
        variants = []
        for i in range(spec.n_variants):
            if should_stop and should_stop():
                raise Cancelled()
            files = write_variant(
                rendered,
                i,
                layout=layout,
                marks=(mark, payload),
                settings=settings,
                on_progress=on_progress,
                written=written,
                keep_master=keep_master,
            )
            if settings.c2pa and identity is not None:
                facts = provenance or {}
                sign_variant(files, rendered, identity=identity, parents=parents, provenance=facts)
            variants.append(files)
            if on_progress:
                on_progress(Stage.files, i + 1, spec.n_variants)
        rendered.timings["media_s"] = time.perf_counter() - t0
        # 5. the sidecar, last: its presence means the set is complete
        metadata = _metadata(rendered, settings, mark, payload, shots)
        body = {**metadata, "files": [_relative(f, layout.sidecar.parent) for f in variants]}
        with atomic_path(layout.sidecar) as tmp:
            tmp.write_text(json.dumps(body, indent=2) + "\n")
    except BaseException:
        layout.discard(written)
        raise
    return Result(variants, layout.sidecar, metadata)


def _screened(media: MediaResolver | None, settings: Settings) -> MediaResolver | None:
    """``media`` that holds each picture or clip it reads to the content policy, as the
    server holds an upload (``ContentPolicyViolation`` naming ``image`` or ``video``). An
    id that is a path (the CLI's) lets a file this server signed itself pass unchecked."""
    if media is None or not settings.moderate_outputs:
        return media
    return _Screened(media, settings)


@dataclass(frozen=True)
class _Screened:
    media: MediaResolver
    settings: Settings

    def __call__(self, item: InpaintItem) -> np.ndarray:
        frames = self.media(item)
        path = Path(item.upload_id or item.generation_id or "")
        check_given(frames, self.settings, item.type, path if path.is_file() else None)
        return frames

    def sound(self, item: InpaintItem) -> SourceSound | None:
        """The media's own sound, where it can hear (``SoundResolver``)."""
        return self.media.sound(item) if isinstance(self.media, SoundResolver) else None


def _visible_mark(settings: Settings) -> VisibleMark | None:
    if not settings.visible_mark:
        return None
    try:
        return VisibleMark(text=settings.visible_mark_text, logo=settings.visible_mark_logo)
    except ValueError as exc:  # e.g. a logo that is not an image
        raise SpecError("visible_mark_logo", str(exc)) from None


def _invisible_payload(
    spec: GenerationSpec, identity: SigningIdentity, provenance: dict[str, Any]
) -> Payload:
    """What the invisible mark says: this server and the task. The CLI has no tasks: its
    request stands in, so that one spec and seed still give the very same file. (Frames too
    small to carry a mark that can be found again get none: ``invisible_watermark.can_mark``.)"""
    task = provenance.get("task") or json.dumps(spec.model_dump(mode="json"), sort_keys=True)
    return Payload(server_mark(identity.anchors), task_mark(task))


def _metadata(
    rendered: Rendered,
    settings: Settings,
    mark: VisibleMark | None,
    payload: Payload | None,
    shots: list[str],
) -> dict[str, Any]:
    p = rendered.plan
    import av
    import diffusers
    import torch

    metadata = {
        "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "spec": p.spec.model_dump(mode="json"),
        "model": p.model.id,
        "weights": "built in code (random)" if p.model.tiny_random else p.model.weights,
        "preset": p.preset.value,
        "preset_config": asdict(p.preset_config),
        "style": p.style.name,
        # LoRA adapters run, with their scales (the request's, the deployment's, turbo's)
        "loras": [{"name": name, "scale": scale} for name, scale in p.loras],
        "loras_fused": bool(rendered.backend.get("loras_fused", False)),
        # A model that reads prompts onto its own words (cinegen-tiny) renders from those.
        "prompt_used": rendered.backend.get("prompts_read", {}).get(p.prompt, p.prompt),
        "actions": shots,  # the shot planner's next shots
        # Hunyuan's guidance is distilled: its pipeline takes no negative prompt.
        "negative_prompt_used": p.negative_prompt if rendered.uses_negative_prompt else None,
        "seeds": p.seeds,
        "native": {
            "width": p.native_width,
            "height": p.native_height,
            "windows": rendered.native_windows(),
            "long_video": _long_video(rendered),
        },
        "output": {
            "width": p.spec.width,
            "height": p.spec.height,
            "n_frames": p.spec.n_frames,
            "fps": p.spec.fps,
            "encoder": encode.ENCODER if p.spec.type is GenerationType.video_gen else "png",
            "audio": p.sound,  # each file's track: files[].audio
        },
        "visible_mark": (str(mark.logo) if mark.logo else mark.text) if mark else None,
        "invisible_mark": str(payload) if payload else None,  # server-task, hexadecimal
        "c2pa": settings.c2pa,  # every file carries a signed manifest (provenance/)
        "license": p.model.license,
        "timings": {k: round(v, 3) for k, v in rendered.timings.items()},
        "device": rendered.backend["device"],
        "dtype": rendered.backend["dtype"],
        "versions": {
            "cinegen": __version__,
            "python": platform.python_version(),
            "torch": torch.__version__,
            "diffusers": diffusers.__version__,
            "av": av.__version__,
            "numpy": np.__version__,
        },
    }
    if rendered.backend.get("quantize", "none") != "none":  # the same seed, other frames
        metadata["quantize"] = rendered.backend["quantize"]
    if rendered.backend.get("prompts_read"):  # every prompt, a storyboard's shots too
        metadata["prompts_read"] = rendered.backend["prompts_read"]
    if "weights_sha256" in rendered.backend:  # weights that ship as one checked file
        metadata["weights_sha256"] = rendered.backend["weights_sha256"]
    return metadata


def _long_video(rendered: Rendered) -> dict[str, Any] | None:
    """A long video's windows for the sidecar: the engine's (``windows.in_windows``,
    counted in output frames) or the model's own (diffusion forcing, in native frames);
    None where each render was one window."""
    windows = rendered.layout.windows
    if windows is not None:
        count = len(rendered.layout.segments)
        return {"windows": count, **asdict(windows), "frames": "output"}
    native = rendered.backend.get("long_video")
    return {**native, "frames": "native"} if native else None


def _relative(files: VariantFiles, base: Path) -> dict[str, Any]:
    paths = {k: v for k, v in asdict(files).items() if isinstance(v, Path)}
    return {
        "index": files.index,
        "seed": files.seed,
        **{k: str(v.relative_to(base)) for k, v in paths.items()},
        "audio": files.audio,
    }
