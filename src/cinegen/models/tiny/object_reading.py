"""One object of a toy-world clip read from its matte: steps 4 and 5 of ``analyse.py``.

Per frame, the matte's area, centroid, spread and angular harmonics (a regular n-gon has
energy only at multiples of n: triangle 3, square 4, star 5); then its colour (the nearest
palette colour), its shape from the harmonics of the larger frames (none for scattered
blobs), and its motion by fitting each motion's rendered track (``toyworld.MOTIONS``:
centre, log-size, orientation) with a free gain.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from cinegen.models.tiny import toyworld as world
from cinegen.models.tiny.vocab import COLOR_RGB, Color, Motion, Shape

F32 = NDArray[np.floating[Any]]  # float32 at run time
PALETTE = np.array([COLOR_RGB[c] for c in Color], np.float32)
COLORS = list(Color)
MIN_AREA = 6.0  # pixels: smaller masks in a frame count as unseen
MIN_MOTION = 0.35  # of the rendered amplitude, below which an object reads as still
_ORDERS = {Shape.TRIANGLE: 3, Shape.SQUARE: 4, Shape.STAR: 5}


@dataclass(frozen=True)
class ObjectReading:
    """One object as read from the frames; confidences are margins in [0, 1]."""

    color: Color
    shape: Shape | None  # None: no coherent shape (scattered blobs of the colour)
    motion: Motion | None  # None: still, or no motion fits the track
    color_confidence: float
    shape_confidence: float
    motion_confidence: float
    area: float  # mean fraction of the frame covered where seen
    track: tuple[tuple[float, float], ...]  # centre per frame as fractions; nan where unseen

    @property
    def confidence(self) -> float:
        return min(self.color_confidence, self.shape_confidence, self.motion_confidence)


@dataclass(frozen=True)
class _Tracks:
    """Per-frame measurements of one object; nan where the object is unseen."""

    area: F32  # (F,) pixels
    cx: F32  # (F,) pixels
    cy: F32
    spread: F32  # (F,) 2 pi sum(w r^2) / area^2: 1 for a disc, ~1.25 for a star, >> for debris
    harmonics: NDArray[np.complex64]  # (F, 3): orders 3, 4, 5, weighted by r^2


def _tracks(weight: F32) -> _Tracks:
    # Sparse: the object covers a few hundred of the 4096 pixels of a frame.
    f, y, x = np.nonzero(weight)
    w = weight[f, y, x]
    n = len(weight)
    area = np.bincount(f, w, minlength=n)
    seen = area >= MIN_AREA
    safe = np.where(seen, area, 1)
    cx = np.bincount(f, w * (x + 0.5), minlength=n) / safe
    cy = np.bincount(f, w * (y + 0.5), minlength=n) / safe
    z = (x + 0.5 - cx[f]) + 1j * (y + 0.5 - cy[f])  # (N,) complex offsets from the centroid
    r2 = (z * z.conjugate()).real
    unit = z / np.sqrt(np.maximum(r2, 1e-12))
    inertia = w * r2  # the rim, where shapes differ, weighs most
    total = np.maximum(np.bincount(f, inertia, minlength=n), 1e-6)
    power = unit * unit * unit
    harmonics = []
    for _ in (3, 4, 5):
        moment = inertia * power
        harmonics.append(
            (np.bincount(f, moment.real, n) + 1j * np.bincount(f, moment.imag, n)) / total
        )
        power = power * unit

    def known(values: NDArray[Any]) -> NDArray[Any]:
        blank = np.nan if values.ndim == 1 else np.complex64(np.nan)
        return np.where(seen.reshape(-1, *[1] * (values.ndim - 1)), values, blank)

    return _Tracks(
        known(area).astype(np.float32),
        known(cx).astype(np.float32),
        known(cy).astype(np.float32),
        known(2 * np.pi * total / safe**2).astype(np.float32),
        known(np.stack(harmonics, axis=1)).astype(np.complex64),
    )


# Harmonic strength of each shape's own order on clean renders (|m3| of a triangle &c.);
# tests/models/tiny/test_analyse.py re-measures it. A shape scores its strength over this.
HARMONIC_NORM = {Shape.TRIANGLE: 0.515, Shape.SQUARE: 0.273, Shape.STAR: 0.51}
# A mask whose best shape scores below this is round. Clean circles score < 0.02, circles
# through blur + half resolution + noise + JPEG < 0.13, small stars through all that > 0.2.
CIRCLE_BELOW = 0.16
# Every shape, clean or degraded, spreads 1.0-1.3; scattered blobs (a model that draws the
# colour in patches but no object) spread far more and have no shape.
MAX_SPREAD = 1.5
# Motion is read by fitting each motion's own rendered track (toyworld.MOTIONS) to the measured
# centre, log-size and orientation, each in units of its rendered amplitude.
CHANNEL_UNITS = (
    world.TRAVEL,  # x
    world.TRAVEL,  # y
    float(np.log(world.GROW_TO / world.GROW_FROM)),  # log size
    2 * np.pi * world.SPIN_TURNS,  # orientation
)
MIN_FIT = 0.7  # share of the track's variance a motion must explain: jitter is no motion


def read_object(colour: F32, weight: F32) -> ObjectReading | None:
    """One object from its measured ``colour`` (3,) and its coverage ``weight`` (F, S, S) of
    each frame's pixels; None if it is seen in fewer than two frames."""
    side = weight.shape[-1]  # positions and area are read as fractions of the square frame
    tracks = _tracks(weight)
    seen = ~np.isnan(tracks.area)
    if seen.sum() < 2:
        return None
    distance = np.linalg.norm(PALETTE - colour[None], axis=1)
    first, second = np.sort(distance)[:2]
    shape, shape_conf = _classify_shape(tracks)
    motion, motion_conf = _classify_motion(tracks, shape, side)
    track = tuple(
        (float(x) / side, float(y) / side) for x, y in zip(tracks.cx, tracks.cy, strict=True)
    )
    return ObjectReading(
        color=COLORS[int(np.argmin(distance))],
        shape=shape,
        motion=motion,
        color_confidence=float(1 - first / max(second, 1e-6)),
        shape_confidence=shape_conf,
        motion_confidence=motion_conf,
        area=float(np.nanmean(tracks.area)) / side**2,
        track=track,
    )


def _classify_shape(tracks: _Tracks) -> tuple[Shape | None, float]:
    # The larger half of the frames: a shrinking star's last frames are a few blurred pixels.
    large = tracks.area >= 0.5 * np.nanmax(tracks.area)
    spread = float(np.median(tracks.spread[large]))
    if spread > MAX_SPREAD:
        return None, float(min(1.0, spread / MAX_SPREAD - 1))
    strength = np.median(np.abs(tracks.harmonics[large]), axis=0)  # (3,) orders 3, 4, 5
    scores = {
        shape: float(strength[_ORDERS[shape] - 3]) / norm for shape, norm in HARMONIC_NORM.items()
    }
    ranked = sorted(scores, key=scores.__getitem__, reverse=True)
    best, runner_up = scores[ranked[0]], scores[ranked[1]]
    if best < CIRCLE_BELOW:
        return Shape.CIRCLE, float(1 - best / CIRCLE_BELOW)
    return ranked[0], float(min(1 - runner_up / best, (best - CIRCLE_BELOW) / (1 - CIRCLE_BELOW)))


def _classify_motion(
    tracks: _Tracks, shape: Shape | None, side: int
) -> tuple[Motion | None, float]:
    """The motion whose rendered track, scaled, best explains the measured one; None if no
    motion reaches MIN_MOTION of its amplitude while explaining MIN_FIT of the variance."""
    seen = ~np.isnan(tracks.area)
    t = np.linspace(0, 1, len(seen), dtype=np.float32)[seen]
    orientation = np.zeros(len(t))
    if shape in _ORDERS:
        # The phase of the shape's own harmonic turns `order` times as fast as the shape;
        # unaliased while it turns under half its symmetry angle a frame (toyworld.SPIN_TURNS).
        order = _ORDERS[shape]
        orientation = np.unwrap(np.angle(tracks.harmonics[seen, order - 3])) / order
    channels = (tracks.cx[seen] / side, tracks.cy[seen] / side, 0.5 * np.log(tracks.area[seen]))
    measured = np.stack([*channels, orientation], axis=1) / CHANNEL_UNITS  # (T, 4)
    measured -= measured.mean(axis=0)
    variance = max(float(np.sum(measured**2)), 1e-12)
    fits: dict[Motion, float] = {}
    for motion, path in world.MOTIONS.items():
        dx, dy, scale, angle = path(t)
        template = np.stack([dx, dy, np.log(scale), angle], axis=1) / CHANNEL_UNITS
        template -= template.mean(axis=0)
        gain = float(np.sum(measured * template) / max(float(np.sum(template**2)), 1e-12))
        explained = 1 - float(np.sum((measured - gain * template) ** 2)) / variance
        # Either way round is a spin; every other motion has a direction.
        if (abs(gain) if motion is Motion.SPINNING else gain) >= MIN_MOTION:
            fits[motion] = explained
    ranked = sorted(fits, key=fits.__getitem__, reverse=True)
    if not ranked or fits[ranked[0]] < MIN_FIT:
        return None, float(1 - max(fits.values(), default=0.0))
    runner_up = fits[ranked[1]] if len(ranked) > 1 else 0.0
    return ranked[0], float(fits[ranked[0]] - max(runner_up, 0.0))
