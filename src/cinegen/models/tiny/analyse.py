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
   specks, then (``object_reading.py``) centroid, area and angular harmonics of the mask (a
   regular n-gon has energy only at multiples of n: triangle 3, square 4, star 5);
5. shape from the harmonics of the larger frames, or none if the mask is scattered blobs;
   motion by fitting each motion's rendered track (``toyworld.MOTIONS``: centre, log-size,
   orientation) with a free gain: the best fit wins if it has at least 35% of the rendered
   amplitude and explains 70% of the track, so a still or jittering object has no motion.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray
from PIL import Image

from cinegen.models.tiny import toyworld as world
from cinegen.models.tiny.object_reading import F32, PALETTE, ObjectReading, read_object
from cinegen.models.tiny.prompt import PromptAttributes, parse_prompt
from cinegen.models.tiny.vocab import Background

__all__ = ["ObjectReading", "PromptAttributes", "Reading", "analyse", "parse_prompt", "score"]

WORK = 64  # analysis resolution: the model's native size
MIN_FRAMES, MIN_SIZE = 8, 32
FG_DISTANCE = 40.0  # RGB distance from the row background that marks a foreground pixel
MIN_CORE_PIXELS = 3.0  # per frame on average, for a colour to count as an object
MIN_CORE_SHARE = 0.08  # of the best-supported colour: anti-aliased rims vote for other colours
MAX_OBJECTS = 2
BACKGROUND_TOLERANCE = 60.0  # RGB distance from a background's colour still counted as it
MIN_BACKGROUND_SHARE = 0.1  # of a row's pixels (all frames) near the reference to use them
PURE_ALPHA = 0.75  # pixels at least this covered by their colour measure it


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
        reading = read_object(matte.colour, matte.alpha * _dilate(mask))
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
    axes = PALETTE[None] - rows[y][:, None]  # (N, 8, 3): background to each palette colour
    offset = diff[f, y, x][:, None]  # (N, 1, 3)
    alpha = np.clip(_dot(offset, axes) / np.maximum(_sq_norm(axes), 1e-6), 0, 1)  # (N, 8)
    misfit = _sq_norm(offset - alpha[..., None] * axes)  # (N, 8)
    votes = np.argmin(misfit, axis=1)
    counts = np.bincount(votes, minlength=len(PALETTE))
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
        nearest = int(np.argmin(_sq_norm(PALETTE - colour)))
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
