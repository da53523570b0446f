"""Media a task refers to by id, read from the store for the engine: uploads and earlier
generations of the same account (another account's ids resolve to nothing, as if unknown)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image
from sqlalchemy.orm import Session, sessionmaker

from cinegen.engine.sources import SourceSound
from cinegen.errors import SpecError
from cinegen.media.audio import near_target
from cinegen.media.encode import probe, read_audio, read_frames
from cinegen.spec import GenerationSpec
from cinegen.spec_parts import InpaintItem
from cinegen.store.models import Generation, Upload

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".webp")


@dataclass(frozen=True)
class StoreMedia:
    """A ``MediaResolver`` (an item's pixels, (F, H, W, 3) uint8) and ``SoundResolver``.

    An operation's source (``source.generation_ids``) arrives as an item's ``generation_id``;
    it may also name an uploaded video (``upload_…``), which is what the OpenAI dialect's
    edits and extensions of a video file refer to."""

    sessions: sessionmaker[Session]
    data_dir: Path
    account_id: str

    def __call__(self, item: InpaintItem) -> np.ndarray:
        return read_pixels(self._path(item))

    def sound(self, item: InpaintItem) -> SourceSound | None:
        """A video item's own sound track (a master carries the generation's), or None."""
        return read_sound(self._path(item))

    def _path(self, item: InpaintItem) -> Path:
        with self.sessions() as session:
            if item.upload_id is not None:
                path = self._upload(session, item.upload_id)
                if path is None:
                    raise SpecError(
                        "inpaint_items.upload_id",
                        "no such upload (uploads nothing uses are deleted after "
                        "upload_ttl_hours; upload it again)",
                        value=item.upload_id,
                    )
                return path
            generation = session.get(Generation, item.generation_id)
            if generation is None or generation.task.account_id != self.account_id:
                path = self._upload(session, item.generation_id or "")
                if path is None:
                    raise SpecError(
                        "inpaint_items.generation_id",
                        "no such generation",
                        value=item.generation_id,
                    )
                return path
            files = generation.files
        # Its frames before the marks when kept (a generation from before masters: the
        # delivered file, marks and all).
        return self.data_dir / (files.get("master") or _main(files))

    def files(self, spec: GenerationSpec) -> list[Path]:
        """The stored files a request works from (its sources and media items), for the
        provenance of what it makes; ids that name nothing are left out."""
        found = []
        with self.sessions() as session:
            for media_id in spec.media_ids():
                generation = session.get(Generation, media_id)
                if generation is not None and generation.task.account_id == self.account_id:
                    found.append(self.data_dir / _main(generation.files))  # what was signed
                elif (path := self._upload(session, media_id)) is not None:
                    found.append(path)
        return [path for path in found if path.is_file()]

    def _upload(self, session: Session, upload_id: str) -> Path | None:
        upload = session.get(Upload, upload_id)
        if upload is None or upload.account_id != self.account_id:
            return None
        return self.data_dir / upload.path


def _main(files: dict[str, str]) -> str:
    return files.get("video", files.get("image", ""))


def read_sound(path: Path) -> SourceSound | None:
    """A stored video's sound track with its frame rate, or None (a picture, a silent
    video)."""
    if path.suffix.lower() in IMAGE_SUFFIXES:
        return None
    found = read_audio(path)
    if found is None:
        return None
    samples, rate = found
    return SourceSound(near_target(samples, rate), rate, probe(path).fps)


def read_pixels(path: Path) -> np.ndarray:
    """A stored image's or video's frames, (F, H, W, 3) uint8."""
    if path.suffix.lower() in IMAGE_SUFFIXES:
        with Image.open(path) as image:
            return np.asarray(image.convert("RGB"))[None]
    return read_frames(path)
