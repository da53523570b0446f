"""What SkyReels-V2 diffusion forcing adds to the diffusers backend: long video in windows,
and a clip continued from its held first frames.

diffusers 0.42.1's diffusion-forcing pipelines (``pipelines/skyreels_v2/``) give each latent
frame its own noise level. A clip longer than ``base_num_frames`` renders natively in windows
of that many frames, each starting from the last ``overlap_history`` frames of the one before,
the held ones lightly re-noised (``addnoise_condition``). The video-to-video pipeline starts
the same way from a given clip: cinegen's extend. The functions here and ``Forcing`` are the
``skyreels-v2`` row of ``families.FAMILIES``.

Pipeline behaviour the row works around (tests/engine/test_skyreels.py pins each one):
- Trap: ``addnoise_condition`` draws its noise with ``torch.randn_like``, from torch's global
  generator, not the call's: each call runs one seed with the global generator seeded from
  it (``Forcing.seeded``), or one seed would give different frames on every run.
- Its image-to-video pipeline fails for 3 videos a call (it keeps half the batch's image
  latents); its video-to-video pipeline takes one given clip for one video: one seed a call
  is what they run anyway.
- Video-to-video returns the given clip and then the new frames, which start with the held
  frames again as the VAE gives them back (``Forcing.frames`` keeps the timeline's).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from PIL import Image

from cinegen.engine.backends.base import RenderJob

STEP = 4  # Wan's VAE: 4 frames a latent frame; clips are 4k + 1 frames


@dataclass(frozen=True)
class Forcing:
    """How diffusion forcing renders long: windows of ``window`` frames overlapping by
    ``overlap`` (each 4k + 1), the held frames re-noised to ``addnoise`` of 1000.

    The numbers are the pipelines' docstrings' for the 540P checkpoints: ``base_num_frames``
    "97 for 540P, 121 for 720P", ``overlap_history`` "17 and 37 are recommended", and
    ``addnoise_condition`` "20 is a recommended value"."""

    window: int = 97
    overlap: int = 17
    addnoise: float = 20.0
    # Synchronous: every latent frame of a window at the same noise level, ``steps`` calls
    # a window (the pipelines' default; ar_step=5 staggers them, more calls, slower).
    ar_step: int = 0

    def call_arguments(self, job: RenderJob) -> dict[str, Any]:
        long = job.n_frames > self.window
        return {
            "base_num_frames": self.window,
            "overlap_history": self.overlap if long else None,  # None: one window
            "addnoise_condition": self.addnoise,
            "ar_step": self.ar_step,
            "fps": round(job.fps),  # the transformer embeds 16 fps apart from the others
        }

    def continued(self, job: RenderJob) -> tuple[int, int] | None:
        """For a clip continued from its held first frames: (first, length), the held frames
        ``first .. first + length`` the model starts from, the last of the held run (at most
        ``overlap``, 4k + 1 of them); None where ``job`` continues nothing."""
        if job.keep is None or job.keep.first_frame_only:
            return None
        held: np.ndarray = np.asarray(job.keep.mask.reshape(len(job.keep.mask), -1).any(axis=1))
        run = int(np.argmin(held)) if not held.all() else len(held)  # held from frame 0 on
        if run == 0 or held[run:].any():
            raise ValueError(
                "SkyReels-V2 holds a first frame or a clip's first frames (extend forward), "
                "not frames later in the clip"
            )
        length = (min(run, self.overlap) - 1) // STEP * STEP + 1
        return run - length, length

    def generated(self, job: RenderJob) -> int:
        """Frames one call generates, the held frames it starts from included (4k + 1)."""
        continued = self.continued(job)
        first = continued[0] if continued else 0
        return -(-(job.n_frames - first - 1) // STEP) * STEP + 1

    def windows(self, job: RenderJob) -> int:
        """Windows one call denoises, ``steps`` callbacks each: the pipelines' ``n_iter``."""
        continued = self.continued(job)
        latents = (self.generated(job) - 1) // STEP + 1
        base = (self.window - 1) // STEP + 1
        if continued is None and job.n_frames <= self.window:
            return 1
        overlap = (continued[1] if continued else self.overlap) - 1
        overlap = overlap // STEP + 1
        return 1 + (latents - base - 1) // (base - overlap) + 1

    def describe(self, job: RenderJob) -> dict[str, Any]:
        """For the sidecar: the windows a render ran in."""
        continued = self.continued(job)
        overlap = continued[1] if continued else self.overlap
        return {"windows": self.windows(job), "window_frames": self.window, "overlap": overlap}

    @contextlib.contextmanager
    def seeded(self, seed: int, device: torch.device) -> Iterator[None]:
        """torch's global generator seeded from ``seed`` for one call, and put back after."""
        devices = [device] if device.type == "cuda" else []
        with torch.random.fork_rng(devices=devices, device_type=device.type):
            torch.manual_seed(seed)
            yield

    def frames(self, out: Any, job: RenderJob) -> np.ndarray:
        """The call's frames on the job's timeline, (V, F, H, W, 3) float in [0, 1]."""
        frames = np.asarray(out.frames)
        continued = self.continued(job)
        if continued is None:
            return frames
        assert job.keep is not None
        first, length = continued
        new = frames[:, length:][:, : job.n_frames - first]  # the given clip dropped
        # The held frames before those the model started from, as given: the engine pastes
        # every held pixel back anyway.
        before = np.broadcast_to(
            job.keep.frames[:first].astype(np.float32) / 255, (len(new), first, *new.shape[2:])
        )
        return np.concatenate([before, new], axis=1)


FORCING = Forcing()


def condition(pipe: Any, job: RenderJob, n: int) -> dict[str, Any]:
    """A whole first frame for the image-to-video pipeline; a clip's held first frames for
    the video-to-video pipeline, the last of them (``Forcing.continued``) as its ``video``."""
    if job.source is not None:
        raise ValueError("SkyReels-V2 continues a clip; it does not remix one")
    if job.image is not None:
        return {"image": Image.fromarray(job.image)}
    continued = FORCING.continued(job)
    assert job.keep is not None and continued is not None
    first, length = continued
    video = [Image.fromarray(f) for f in job.keep.frames[first : first + length]]
    # The pipeline encodes the last overlap_history frames of ``video`` and generates
    # num_frames from them on (their own included), in windows overlapping by as many.
    return {"video": video, "overlap_history": length, "num_frames": FORCING.generated(job)}
