"""The media a generation reads: its sources' pixels, their sound, characters' pictures.

Whoever runs the engine passes a ``MediaResolver`` (uploads and earlier generations for a
server task, ``jobs/media.py``; files for the CLI, ``cli/generate.py``). One that is also a
``SoundResolver`` gives each video's own track as a ``SourceSound``, which the layouts
(``operations.py``) keep under the frames they place. ``reference_pictures`` reads the
characters' references, and ``given_references`` the request's ``reference_images``, through
the same resolver.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol, runtime_checkable

import numpy as np

from cinegen.errors import SpecError
from cinegen.media import audio
from cinegen.spec import GenerationSpec
from cinegen.spec_parts import InpaintItem


class MediaResolver(Protocol):
    """Turns an upload or generation id into pixels: (F, H, W, 3) uint8."""

    def __call__(self, item: InpaintItem) -> np.ndarray: ...


@dataclass(frozen=True)
class SourceSound:
    """A video's own sound track: ``samples`` (C, S) float32 at ``rate``, beside frames at
    ``fps``."""

    samples: np.ndarray
    rate: int
    fps: float

    def under(self, frames: range, n_frames: int, fps: float) -> np.ndarray:
        """The sound under the video's ``frames``, stretched as they are onto ``n_frames``
        output frames at ``fps``: stereo at ``media.audio.RATE``. Time past the track's end
        is silent."""
        first = round(frames.start / self.fps * self.rate)
        stop = round(frames.stop / self.fps * self.rate)
        cut = self.samples[:, first:stop]
        if cut.shape[1] < stop - first:
            cut = np.pad(cut, ((0, 0), (0, stop - first - cut.shape[1])))
        return audio.fit(cut, self.rate, audio.samples_for(n_frames / fps))


@runtime_checkable
class SoundResolver(Protocol):
    """A ``MediaResolver`` that also hears: an item's own sound, or None for a silent one."""

    def sound(self, item: InpaintItem) -> SourceSound | None: ...


def reference_pictures(spec: GenerationSpec, media: MediaResolver | None) -> dict[str, np.ndarray]:
    """Each character's reference picture by name, (h, w, 3) uint8: its image, or the middle
    frame of its clip. Characters without a reference have none."""
    pictures = {}
    for i, character in enumerate(spec.characters):
        if character.upload_id is None:
            continue
        if media is None:
            raise SpecError(f"characters.{i}.upload_id", "no media store is available")
        try:
            frames = media(InpaintItem(type="video", upload_id=character.upload_id))
        except SpecError as exc:
            raise SpecError(
                f"characters.{i}.upload_id", exc.message, value=character.upload_id
            ) from None
        pictures[character.name] = frames[len(frames) // 2]
    return pictures


def given_references(spec: GenerationSpec, media: MediaResolver | None) -> tuple[np.ndarray, ...]:
    """The request's ``reference_images``, (h, w, 3) uint8 each: an image, or the middle
    frame of a clip. Every render of the request sees them (``spec`` caps how many, with the
    characters' pictures, at ``MAX_REFERENCE_PICTURES``)."""
    pictures = []
    for i, reference in enumerate(spec.reference_images):
        field = f"reference_images.{i}"
        if media is None:
            raise SpecError(field, "no media store is available")
        try:
            frames = media(reference.media)
        except SpecError as exc:
            raise SpecError(field, exc.message, value=exc.value) from None
        pictures.append(frames[len(frames) // 2])
    return tuple(pictures)
