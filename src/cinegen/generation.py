"""``cinegen.generate(spec) -> Result``: a prompt to finished files, from Python or the CLI.

The recipe, one variant at a time so that memory holds one full-size clip at most:
resample to exactly the requested grid, stamp the visible mark and hide the invisible one
(this server and the task, provenance/invisible_watermark.py), encode H.264 (or
write a PNG for ``image_gen``), write the thumbnail and spritesheet, sign a C2PA manifest
into each, and record everything in a JSON sidecar. Every file is written atomically.
"""

from __future__ import annotations

import json
import os
import platform
import re
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from cinegen.config import Settings
from cinegen.engine.engine import Engine, Rendered
from cinegen.engine.sources import MediaResolver, SoundResolver, SourceSound
from cinegen.errors import Cancelled, SpecError
from cinegen.media import audio, encode, stills
from cinegen.media.atomic import atomic_path
from cinegen.media.watermark import VisibleMark
from cinegen.progress import PreviewFn, ProgressFn, Stage
from cinegen.provenance import invisible_watermark
from cinegen.provenance.identity import SigningIdentity, load_identity
from cinegen.provenance.manifest import MEDIA_TYPES, manifest_for, sign_file
from cinegen.provenance.payload import Payload, server_mark, task_mark
from cinegen.safety.moderation import check_request
from cinegen.safety.output import check_given, check_output
from cinegen.shot_planner import shots_for
from cinegen.spec import GenerationSpec, GenerationType, InpaintItem
from cinegen.version import __version__

VIDEO_SUFFIX, IMAGE_SUFFIX = ".mp4", ".png"
# Masters are sources, not deliveries: near-transparent quality, encoded fast.
MASTER_CRF, MASTER_PRESET = 12, "veryfast"


@dataclass(frozen=True)
class VariantFiles:
    index: int
    seed: int
    thumbnail: Path
    video: Path | None = None  # video_gen
    spritesheet: Path | None = None  # video_gen
    image: Path | None = None  # image_gen
    # Server tasks: the frames before any mark, which later operations on this generation
    # (extend, loop, remix, ...) start from, so that kept frames are not marked twice. Never
    # served; see ``MASTER_CRF``.
    master: Path | None = None
    # What the video's sound track is (rate, channels, loudness, seed), or None when silent.
    audio: dict[str, Any] | None = None

    @property
    def main(self) -> Path:
        main = self.video or self.image
        assert main is not None
        return main


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
            files = _write_variant(
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
                _sign(files, rendered, identity=identity, parents=parents, provenance=facts)
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


@dataclass
class OutputLayout:
    """Where a generation's files go: a new folder per run, or a file name the user chose."""

    folder: Path
    stem: str | None  # None: the folder is ours, files are named video-1.mp4 &c.
    suffix: str
    made: list[Path] = field(default_factory=list, init=False)  # by create(), outermost first

    @classmethod
    def choose(cls, out: Path | None, spec: GenerationSpec, settings: Settings) -> OutputLayout:
        """Decide and check the place (nothing is created yet)."""
        suffix = IMAGE_SUFFIX if spec.type is GenerationType.image_gen else VIDEO_SUFFIX
        if out is not None and out.suffix and not out.is_dir():
            if out.suffix.lower() != suffix:
                raise SpecError(
                    "out", f"must end in {suffix} for {spec.type.value}", value=str(out)
                )
            layout = cls(out.parent.resolve(), out.stem, suffix)
        else:
            slug = re.sub(r"[^a-z0-9]+", "-", spec.prompt.lower()).strip("-")[:40] or "generation"
            name = f"{datetime.now().strftime('%Y%m%d-%H%M%S')}-{slug}"
            layout = cls((out or settings.output_dir).resolve() / name, None, suffix)
        _check_writable(layout.folder)
        return layout

    def create(self) -> None:
        """Make the folder and any missing above it, remembering which (see ``discard``)."""
        self.made = [p for p in reversed(self.folder.parents) if not p.exists()]
        if self.stem is not None:
            if not self.folder.exists():
                self.made.append(self.folder)
            self.folder.mkdir(parents=True, exist_ok=True)
            return
        base, n = self.folder, 1
        while True:  # exclusive: two runs in the same second never share a folder
            try:
                self.folder.mkdir(parents=True)
                self.made.append(self.folder)
                return
            except FileExistsError:
                n += 1
                self.folder = base.with_name(f"{base.name}-{n}")

    def discard(self, written: list[Path]) -> None:
        """Remove what this run wrote, and the folders it made that are left empty."""
        for path in written:
            path.unlink(missing_ok=True)
        for folder in reversed(self.made):
            if folder.is_dir() and not any(folder.iterdir()):
                folder.rmdir()

    def path(self, kind: str, i: int, suffix: str) -> Path:
        if self.stem is None:
            return self.folder / f"{kind}-{i + 1}{suffix}"
        number = "" if i == 0 else f"-{i + 1}"
        ext = suffix if kind in ("video", "image") else f".{kind}{suffix}"
        return self.folder / f"{self.stem}{number}{ext}"

    @property
    def sidecar(self) -> Path:
        if self.stem is None:
            return self.folder / "generation.json"
        return self.folder / f"{self.stem}.json"


def _check_writable(folder: Path) -> None:
    """The nearest existing ancestor must be a folder we may write in."""
    existing = folder
    while not existing.exists():
        existing = existing.parent
    if not existing.is_dir():
        raise SpecError("out", f"{existing} is a file, not a folder", value=str(folder))
    if not os.access(existing, os.W_OK | os.X_OK):
        raise SpecError("out", f"no permission to write in {existing}", value=str(folder))


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


def _write_variant(
    rendered: Rendered,
    i: int,
    *,
    layout: OutputLayout,
    marks: tuple[VisibleMark | None, Payload | None],
    settings: Settings,
    on_progress: ProgressFn | None,
    written: list[Path],
    keep_master: bool,
) -> VariantFiles:
    spec = rendered.plan.spec
    frames = rendered.variant(i, on_progress)
    if settings.moderate_outputs and rendered.plan.model.depicts_people:  # before any file
        check_output(frames, settings)
    sound, sound_facts = _sound(rendered, i, frames)  # heard before any mark is drawn
    if on_progress and sound is not None:
        on_progress(Stage.sound, i + 1, spec.n_variants)
    master = _write_master(frames, layout.path, i, spec, sound) if keep_master else None
    if master is not None:
        written.append(master)
    mark, payload = marks
    if mark is not None:
        frames = mark.apply(frames, inplace=True)
    if payload is not None:  # after the visible mark: every pixel carries the invisible one
        key = settings.invisible_mark_key
        frames = invisible_watermark.embed(frames, payload, key=key, inplace=True)
    if on_progress and (mark or payload):
        on_progress(Stage.watermark, i + 1, spec.n_variants)
    seed = rendered.plan.seeds[i]
    thumbnail = stills.write_thumbnail(frames, layout.path("thumbnail", i, ".webp"))
    written.append(thumbnail)
    if spec.type is GenerationType.image_gen:
        image = stills.write_png(frames[0], layout.path("image", i, IMAGE_SUFFIX))
        written.append(image)
        return VariantFiles(i, seed, thumbnail, image=image, master=master)
    report = (lambda d, t: on_progress(Stage.encode_video, d, t)) if on_progress else None
    video = encode.encode_mp4(
        frames,
        layout.path("video", i, VIDEO_SUFFIX),
        spec.fps,
        crf=settings.crf,
        preset=settings.x264_preset,
        on_frame=report,
        audio=sound,
    )
    written.append(video)
    sprites = stills.write_spritesheet(frames, layout.path("spritesheet", i, ".jpg"))
    written.append(sprites)
    return VariantFiles(
        i, seed, thumbnail, video=video, spritesheet=sprites, master=master, audio=sound_facts
    )


def _sound(
    rendered: Rendered, i: int, frames: np.ndarray
) -> tuple[np.ndarray | None, dict[str, Any] | None]:
    """Variant ``i``'s sound as the file carries it (``media.audio.master``) and what the
    sidecar says of it, or (None, None) for a silent video."""
    track = rendered.sound(i, frames)
    if track is None:
        return None, None
    # Sound kept from a source keeps its gain; new sound beside it was levelled to match.
    mastered, loudness = audio.master(track, regain=not rendered.keeps_sound)
    facts = {
        "rate": audio.RATE,
        "channels": audio.CHANNELS,
        "codec": audio.CODEC,
        **loudness.to_json(),
        "seed": rendered.plan.seeds[i],
        "made_by": rendered.sound_maker,
    }
    return mastered, facts


def _write_master(
    frames: np.ndarray,
    path: Callable[[str, int, str], Path],
    i: int,
    spec: GenerationSpec,
    sound: np.ndarray | None,
) -> Path:
    """Variant ``i``'s frames (and sound) as they are before any mark: a PNG, or an MP4
    with H.264 at ``MASTER_CRF``."""
    if spec.type is GenerationType.image_gen:
        return stills.write_png(frames[0], path("master", i, IMAGE_SUFFIX))
    target = path("master", i, VIDEO_SUFFIX)
    return encode.encode_mp4(
        frames, target, spec.fps, crf=MASTER_CRF, preset=MASTER_PRESET, audio=sound
    )


def _sign(
    files: VariantFiles,
    rendered: Rendered,
    *,
    identity: SigningIdentity,
    parents: Sequence[Path],
    provenance: dict[str, Any],
) -> None:
    """A signed C2PA manifest in each of a variant's files; the source files an operation
    started from are the main file's ingredients."""
    p = rendered.plan
    facts = {"seed": files.seed, "operation": p.spec.operation.value, **provenance}
    ingredients = [path for path in parents if path.suffix.lower() in MEDIA_TYPES]
    for path in (files.main, files.thumbnail, files.spritesheet):
        if path is not None:
            manifest = manifest_for(path.name, model=p.model.id, preset=p.preset.value, facts=facts)
            given = ingredients if path == files.main else ()
            sign_file(path, identity=identity, manifest=manifest, parents=given)


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
        "prompt_used": p.prompt,
        "actions": shots,  # the shot planner's next shots
        # Hunyuan's guidance is distilled: its pipeline takes no negative prompt.
        "negative_prompt_used": p.negative_prompt if rendered.uses_negative_prompt else None,
        "seeds": p.seeds,
        "native": {
            "width": p.native_width,
            "height": p.native_height,
            "windows": rendered.native_windows(),
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
    if "weights_sha256" in rendered.backend:  # weights that ship as one checked file
        metadata["weights_sha256"] = rendered.backend["weights_sha256"]
    return metadata


def _relative(files: VariantFiles, base: Path) -> dict[str, Any]:
    paths = {k: v for k, v in asdict(files).items() if isinstance(v, Path)}
    return {
        "index": files.index,
        "seed": files.seed,
        **{k: str(v.relative_to(base)) for k, v in paths.items()},
        "audio": files.audio,
    }
