"""Natural-looking test clips made from nothing, for the watermark's bench and tests.

Photographs have a 1/f spectrum (power falling with spatial frequency); so does this
colour texture. A camera pans across it (or holds still) while a soft red object crosses
the frame: the kinds of motion and texture an encoder and a detector meet in real footage,
reproducible from a seed, with no files to download.
"""

from __future__ import annotations

import numpy as np

MARGIN = 1.6  # the texture is this much larger than the frame, room for the pan


def natural_clip(
    width: int, height: int, n_frames: int, seed: int, *, still: bool = False
) -> np.ndarray:
    """(n_frames, height, width, 3) uint8 RGB: a pan over a 1/f colour texture (``still``:
    a fixed camera) with a soft object moving across it."""
    rng = np.random.default_rng(seed)
    big_h, big_w = int(height * MARGIN), int(width * MARGIN)
    channels = [_pink(big_h, big_w, rng) for _ in range(3)]
    mix = rng.normal(size=(3, 3)) * 0.3 + np.eye(3)  # correlated channels, like real colour
    texture = np.stack([sum(mix[c, k] * channels[k] for k in range(3)) for c in range(3)], -1)
    texture = 128 + rng.uniform(25, 55) * texture / texture.std()
    speed = np.zeros(2) if still else rng.uniform(-0.15, 0.15, 2) * (height, width)
    colour = rng.uniform(30, 230, 3)
    ys, xs = np.mgrid[0:height, 0:width]
    frames = np.empty((n_frames, height, width, 3), np.uint8)
    for t in range(n_frames):
        progress = t / max(1, n_frames - 1)
        y0 = int(0.3 * height + speed[0] * progress)
        x0 = int(0.3 * width + speed[1] * progress)
        frame = texture[y0 : y0 + height, x0 : x0 + width]
        cy = height * (0.5 + 0.3 * np.sin(6 * progress + seed))
        cx = width * (0.15 + 0.7 * progress)
        radius = 0.12 * height
        blob = np.exp(-(((ys - cy) ** 2 + (xs - cx) ** 2) / radius**2))[..., None]
        frames[t] = np.clip(frame * (1 - blob) + colour * blob, 0, 255)
    return frames


def _pink(height: int, width: int, rng: np.random.Generator, beta: float = 1.8) -> np.ndarray:
    """Zero-mean, unit-variance noise whose power falls as 1/f**beta."""
    fy = np.fft.fftfreq(height)[:, None]
    fx = np.fft.rfftfreq(width)[None, :]
    radius = np.hypot(fy, fx)
    radius[0, 0] = 1.0
    shape = radius.shape
    spectrum = (rng.normal(size=shape) + 1j * rng.normal(size=shape)) / radius ** (beta / 2 + 0.5)
    image = np.fft.irfft2(spectrum, s=(height, width))
    normalised: np.ndarray = (image - image.mean()) / image.std()
    return normalised
