from __future__ import annotations

import numpy as np
import pytest


def gradient_clip(n: int, width: int, height: int) -> np.ndarray:
    """Smooth gradients drifting right, the kind of content lossy codecs keep well."""
    xs = np.arange(width)[None, :]
    ys = np.arange(height)[:, None]
    frames = np.empty((n, height, width, 3), dtype=np.uint8)
    for t in range(n):
        frames[t, ..., 0] = (xs * 200 // width + 2 * t) % 256
        frames[t, ..., 1] = ys * 200 // height + 20
        frames[t, ..., 2] = (xs + ys) * 100 // (width + height) + 3 * t
    return frames


@pytest.fixture
def clip() -> np.ndarray:
    return gradient_clip(12, 64, 48)
