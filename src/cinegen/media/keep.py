"""``Keep``: the pixels a render must hold, for every model alike."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Keep:
    """Pixels a render must hold: ``frames`` (F, H, W, 3) uint8 and ``mask`` (F, H, W) bool,
    true where the given pixel stays. Those pixels come back exactly; everything else is
    generated to fit around them (image-to-video, extension, loops, inpainting). The engine
    hands a backend its ``Keep`` on the model's native grid (``RenderJob.keep``)."""

    frames: np.ndarray
    mask: np.ndarray

    @classmethod
    def first_frame(cls, image: np.ndarray, n_frames: int) -> Keep:
        """Plain image-to-video: ``image`` (H, W, 3) held at frame 0 of ``n_frames``."""
        frames = np.zeros((n_frames, *image.shape), np.uint8)
        frames[0] = image
        mask = np.zeros(frames.shape[:3], bool)
        mask[0] = True
        return cls(frames, mask)

    @property
    def first_frame_only(self) -> bool:
        """Whether this is plain image-to-video: a picture at frame 0 and nothing else (the
        margins a narrower output crops away are not held, but ``frames[0]`` fills them)."""
        return bool(self.mask[0].any() and not self.mask[1:].any())
