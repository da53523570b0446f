"""A generation's files: where they go (``OutputLayout``) and how each variant's are written.

``write_variant`` turns one variant's frames into its files (checked, sound mastered, the
master kept before any mark, marked, encoded, thumbnail and spritesheet), and
``sign_variant`` signs a C2PA manifest into each. ``generation.generate`` calls them in its
recipe, one variant at a time.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np

from cinegen.config import Settings
from cinegen.engine.engine import Rendered
from cinegen.errors import SpecError
from cinegen.media import audio, encode, stills
from cinegen.media.watermark import VisibleMark
from cinegen.progress import ProgressFn, Stage
from cinegen.provenance import invisible_watermark
from cinegen.provenance.identity import SigningIdentity
from cinegen.provenance.manifest import MEDIA_TYPES, manifest_for, sign_file
from cinegen.provenance.payload import Payload
from cinegen.safety.output import check_output
from cinegen.spec import GenerationSpec, GenerationType

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


def write_variant(
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
    """Variant ``i``'s files: its frames checked against the content policy, its sound
    mastered, its master (if kept) written before any mark, then the marks drawn, and the
    thumbnail and the video (and spritesheet) or image written. Each path goes into
    ``written`` as soon as it exists, so that a failure can remove it."""
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


def sign_variant(
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
