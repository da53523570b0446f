"""Read generated toy-world frames back and check them against a prompt.

The analyser is the ruler for cinegen-tiny: it must read clean renders almost perfectly and
blurry, noisy, compressed ones nearly as well, or a model's measured accuracy would be the
ruler's. ``selfcheck`` measures it. Steps, all vectorised over frames:

1. resample to 64 x 64 (the world is square: other aspects are squashed) and smooth lightly
   (a [1 2 1] filter), so every input looks alike;
2. background: the per-row median over frames and columns (every background varies only with
   height, and objects cover under half of any row over a clip), nearest of the five profiles;
3. objects: pixels far from that row background, eroded, vote for the palette colour whose
   blend with the background explains them, and each well-supported colour is one object
   (two-object scenes have distinct colours that never touch);
4. per object and frame: a soft matte (coverage along background -> colour), cleaned of
   specks, then centroid, area and angular harmonics of the mask (a regular n-gon has
   energy only at multiples of n: triangle 3, square 4, star 5);
5. shape from the harmonics of the larger frames, or none if the mask is scattered blobs;
   motion by fitting each motion's rendered track (``toyworld.MOTIONS``: centre, log-size,
   orientation) with a free gain: the best fit wins if it has at least 35% of the rendered
   amplitude and explains 70% of the track, so a still or jittering object has no motion.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray
from PIL import Image

from cinegen.models.tiny import toyworld as world
from cinegen.models.tiny.prompt import PromptAttributes, parse_prompt
from cinegen.models.tiny.vocab import COLOR_RGB, Background, Color, Motion, Shape

__all__ = ["ObjectReading", "PromptAttributes", "Reading", "analyse", "parse_prompt", "score"]

F32 = NDArray[np.floating[Any]]  # float32 at run time
WORK = 64  # analysis resolution: the model's native size
MIN_FRAMES, MIN_SIZE = 8, 32
FG_DISTANCE = 40.0  # RGB distance from the row background that marks a foreground pixel
MIN_CORE_PIXELS = 3.0  # per frame on average, for a colour to count as an object
MIN_CORE_SHARE = 0.08  # of the best-supported colour: anti-aliased rims vote for other colours
MAX_OBJECTS = 2
BACKGROUND_TOLERANCE = 60.0  # RGB distance from a background's colour still counted as it
MIN_BACKGROUND_SHARE = 0.1  # of a row's pixels (all frames) near the reference to use them
PURE_ALPHA = 0.75  # pixels at least this covered by their colour measure it
MIN_AREA = 6.0  # pixels: smaller masks in a frame count as unseen
MIN_MOTION = 0.35  # of the rendered amplitude, below which an object reads as still
_PALETTE = np.array([COLOR_RGB[c] for c in Color], np.float32)
_COLORS = list(Color)
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
class Reading:
    background: Background
    background_confidence: float
    objects: list[ObjectReading]  # largest first


def analyse(frames: NDArray[np.uint8]) -> Reading:
    """Read background and objects from ``frames`` ``(F, H, W, 3)`` uint8, F >= 8, H, W >= 32."""
    video = _prepare(frames)  # (F, 64, 64, 3) float32
    rough = np.median(video, axis=(0, 2))  # (H, 3): right in rows objects cover under half
    background, background_conf = _classify_background(rough)
    rows = _background_rows(video, rough, _profiles()[1][list(Background).index(background)])
    diff = video - rows[None, :, None, :]  # (F, H, W, 3)
    core = _erode(_sq_norm(diff) > FG_DISTANCE**2)
    mattes = _object_mattes(video, diff, rows, core)
    masks = [m.alpha > 0.5 for m in mattes]
    if len(mattes) > 1:
        # A pixel both mattes claim belongs to the colour whose matte explains it best.
        both = masks[0] & masks[1]
        first_fits = _residual(diff, rows, mattes[0], both) <= _residual(
            diff, rows, mattes[1], both
        )
        masks[0][both], masks[1][both] = first_fits, ~first_fits
    objects = []
    for matte, mask in zip(mattes, masks, strict=True):
        mask = _reconstruct(_erode(mask), mask)  # drops specks: stars, noise, stray rims
        reading = _read_object(matte.colour, matte.alpha * _dilate(mask))
        if reading is not None:
            objects.append(reading)
    objects.sort(key=lambda o: o.area, reverse=True)
    return Reading(background, background_conf, objects)


def _dot(a: F32, b: F32) -> F32:
    """Dot product over a last axis of 3 (RGB), broadcasting; faster than einsum for 3."""
    product: F32 = a[..., 0] * b[..., 0] + a[..., 1] * b[..., 1] + a[..., 2] * b[..., 2]
    return product


def _sq_norm(x: F32) -> F32:
    return _dot(x, x)


@dataclass(frozen=True)
class _Matte:
    """One object colour over the row background, and its coverage of each pixel."""

    colour: F32  # (3,) as measured, not the palette's
    alpha: F32  # (F, H, W) in [0, 1]


def _matte(diff: F32, rows: F32, colour: F32) -> _Matte:
    axis = colour[None, :] - rows  # (H, 3)
    alpha = _dot(diff, axis[None, :, None, :]) / np.maximum(_sq_norm(axis), 1e-6)[:, None]
    return _Matte(colour, np.clip(alpha, 0, 1))


def _residual(diff: F32, rows: F32, matte: _Matte, where: NDArray[np.bool_]) -> F32:
    """RGB distance the matte leaves unexplained at the pixels ``where`` selects: (N,)."""
    f, y, x = np.nonzero(where)
    axis = matte.colour[None, :] - rows[y]  # (N, 3)
    left: F32 = np.sqrt(_sq_norm(diff[f, y, x] - matte.alpha[f, y, x, None] * axis))
    return left


def _object_mattes(video: F32, diff: F32, rows: F32, core: NDArray[np.bool_]) -> list[_Matte]:
    """One matte per object, best supported first.

    Eroded foreground pixels vote for the palette colour whose blend with the background
    explains them best: a blurred rim of white over dusk is pinkish, yet lies on the line from
    dusk to white. Each colour with enough votes is an object; its colour is measured on its
    purest voters, the centre of a blurred object rather than its rim."""
    f, y, x = np.nonzero(core)
    if len(f) == 0:
        return []
    axes = _PALETTE[None] - rows[y][:, None]  # (N, 8, 3): background to each palette colour
    offset = diff[f, y, x][:, None]  # (N, 1, 3)
    alpha = np.clip(_dot(offset, axes) / np.maximum(_sq_norm(axes), 1e-6), 0, 1)  # (N, 8)
    misfit = _sq_norm(offset - alpha[..., None] * axes)  # (N, 8)
    votes = np.argmin(misfit, axis=1)
    counts = np.bincount(votes, minlength=len(_PALETTE))
    floor = max(MIN_CORE_PIXELS * len(video), MIN_CORE_SHARE * counts.max())
    mattes: dict[int, _Matte] = {}  # by the palette colour nearest the measured one
    for k in np.argsort(-counts):
        if counts[k] < floor or len(mattes) == MAX_OBJECTS:
            break
        voters = votes == k
        pure = voters & (alpha[:, k] >= PURE_ALPHA)
        chosen = pure if pure.sum() >= MIN_CORE_PIXELS else voters
        colour = np.median(video[f[chosen], y[chosen], x[chosen]], axis=0)
        # Compression can make a few pixels of one object vote for a neighbouring colour
        # (orange for yellow); measured, they are the same colour, hence the same object.
        nearest = int(np.argmin(_sq_norm(_PALETTE - colour)))
        if nearest not in mattes:
            mattes[nearest] = _matte(diff, rows, colour)
    return list(mattes.values())


def _prepare(frames: NDArray[np.uint8]) -> F32:
    if frames.ndim != 4 or frames.shape[-1] != 3 or frames.dtype != np.uint8:
        raise ValueError(f"frames: want (F, H, W, 3) uint8, got {frames.shape} {frames.dtype}")
    n, height, width, _ = frames.shape
    if n < MIN_FRAMES or min(height, width) < MIN_SIZE:
        raise ValueError(
            f"frames: want >= {MIN_FRAMES} frames of >= {MIN_SIZE} px, got {n}x{height}x{width}"
        )
    if (height, width) != (WORK, WORK):
        frames = np.stack(
            [
                np.asarray(Image.fromarray(f).resize((WORK, WORK), Image.Resampling.BILINEAR))
                for f in frames
            ]
        )
    return _smooth(frames.astype(np.float32))


def _smooth(video: F32) -> F32:
    """[1 2 1]/4 along height and width with edge padding: noise / 2.7, edges barely move."""
    p = np.pad(video, ((0, 0), (1, 1), (0, 0), (0, 0)), mode="edge")
    video = (p[:, :-2] + 2 * p[:, 1:-1] + p[:, 2:]) / 4
    p = np.pad(video, ((0, 0), (0, 0), (1, 1), (0, 0)), mode="edge")
    smoothed: F32 = (p[:, :, :-2] + 2 * p[:, :, 1:-1] + p[:, :, 2:]) / 4
    return smoothed


def _dilate(mask: NDArray[np.bool_]) -> NDArray[np.bool_]:
    """3 x 3 binary dilation of (F, H, W) masks; outside the frame counts as empty."""
    p = np.pad(mask, ((0, 0), (1, 1), (1, 1)))
    p = p[:, :, :-2] | p[:, :, 1:-1] | p[:, :, 2:]
    return p[:, :-2] | p[:, 1:-1] | p[:, 2:]


def _erode(mask: NDArray[np.bool_]) -> NDArray[np.bool_]:
    return ~_dilate(~mask)


def _reconstruct(seed: NDArray[np.bool_], mask: NDArray[np.bool_]) -> NDArray[np.bool_]:
    """The parts of ``mask`` connected to ``seed`` (geodesic dilation to a fixed point)."""
    for _ in range(WORK):
        grown = _dilate(seed) & mask
        if np.array_equal(grown, seed):
            break
        seed = grown
    return seed


@functools.cache
def _profiles() -> tuple[list[Background], F32]:
    """Each background's per-row colour as the analyser sees it: (5, H, 3)."""
    names = list(Background)
    images = [_smooth(world.background_image(b, WORK)[None]) for b in names]
    return names, np.stack([np.median(image[0], axis=1) for image in images])


def _classify_background(rows: F32) -> tuple[Background, float]:
    names, profiles = _profiles()
    # Median over rows: a row that objects crowd out of its median spoils only itself.
    distance = np.median(np.linalg.norm(profiles - rows[None], axis=-1), axis=1)  # (5,)
    best, second = np.sort(distance)[:2]
    return names[int(np.argmin(distance))], float(1 - best / max(second, 1e-6))


def _background_rows(video: F32, rough: F32, reference: F32) -> F32:
    """Each row's background. Usually the row median; but two objects side by side can fill
    most of a row in every frame, and then the median is an object's colour. Such a row is
    far from the recognised background there, and is replaced by the mean of its pixels near
    that background (objects are >= 100 RGB units from every background colour)."""
    rows = rough.copy()
    for y in np.flatnonzero(_sq_norm(rough - reference) > (BACKGROUND_TOLERANCE / 2) ** 2):
        pixels = video[:, y].reshape(-1, 3)
        near = _sq_norm(pixels - reference[y]) < BACKGROUND_TOLERANCE**2
        # A model may paint the background off its reference: then trust the median after all.
        if near.sum() >= MIN_BACKGROUND_SHARE * len(pixels):
            rows[y] = pixels[near].mean(axis=0)
    return rows


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


def _read_object(colour: F32, weight: F32) -> ObjectReading | None:
    tracks = _tracks(weight)
    seen = ~np.isnan(tracks.area)
    if seen.sum() < 2:
        return None
    distance = np.linalg.norm(_PALETTE - colour[None], axis=1)
    first, second = np.sort(distance)[:2]
    shape, shape_conf = _classify_shape(tracks)
    motion, motion_conf = _classify_motion(tracks, shape)
    track = tuple(
        (float(x) / WORK, float(y) / WORK) for x, y in zip(tracks.cx, tracks.cy, strict=True)
    )
    return ObjectReading(
        color=_COLORS[int(np.argmin(distance))],
        shape=shape,
        motion=motion,
        color_confidence=float(1 - first / max(second, 1e-6)),
        shape_confidence=shape_conf,
        motion_confidence=motion_conf,
        area=float(np.nanmean(tracks.area)) / WORK**2,
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


def _classify_motion(tracks: _Tracks, shape: Shape | None) -> tuple[Motion | None, float]:
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
    channels = (tracks.cx[seen] / WORK, tracks.cy[seen] / WORK, 0.5 * np.log(tracks.area[seen]))
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


def score(frames: NDArray[np.uint8], prompt: str) -> dict[str, bool]:
    """Whether ``frames`` show each attribute ``prompt`` names (background, color, shape,
    motion). Object attributes are checked on the object of the first-named colour (the
    largest such), else on the largest object: two-object scenes have distinct colours."""
    wanted = parse_prompt(prompt).named()
    reading = analyse(frames)
    result = {}
    if "background" in wanted:
        result["background"] = reading.background == wanted["background"]
    matching = [o for o in reading.objects if o.color == wanted.get("color", o.color)]
    candidates = matching or reading.objects
    target = candidates[0] if candidates else None
    for name in ("color", "shape", "motion"):
        if name in wanted:
            result[name] = target is not None and getattr(target, name) == wanted[name]
    return result
