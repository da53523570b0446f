"""The toy world cinegen-tiny learns: coloured shapes moving over one of five backgrounds.

A scene is one or two objects (colour, shape, motion, size, anchor) over a background. A clip is
rendered analytically: each pixel's coverage is a one-pixel ramp on the shape's signed distance,
anti-aliased without supersampling, deterministic, clean at any size and fast enough (about a
thousand 16 x 64 x 64 clips a second on one core) to feed training on a CPU.

Design choices a user of the data should know:

- Every motion is visible within 16 frames at 64 px: translations cover 45% of the frame,
  bounces two hops 35% high, spins half a turn, growth and shrinkage a factor of 2.3 in size.
- A circle has no orientation, so a spinning circle would look exactly like a still one. The
  world therefore has no spinning circles (neither split); every other object moves visibly.
- Backgrounds vary only with height (plus fixed one-pixel stars at night), and are darker and
  less saturated than every object colour (see ``vocab.COLOR_RGB``); objects have no outline.
- Objects span 30-42% of the frame (27-35% in two-object scenes): smaller stars lose their
  points to blur, half resolution and JPEG, and the analyser could no longer tell them.
- Two-object scenes have two different colours and objects that never touch, so each object
  is identifiable by its colour alone.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Literal, TypeVar

import numpy as np
from numpy.typing import NDArray

from cinegen.models.tiny.captions import caption
from cinegen.models.tiny.scene import ObjectSpec, Scene
from cinegen.models.tiny.vocab import COLOR_RGB, RGB, Background, Color, Motion, Shape

__all__ = [
    "BACKGROUNDS",
    "COLOR_RGB",
    "EXCLUDED",
    "HELDOUT_COLOR_BACKGROUND",
    "HELDOUT_COLOR_SHAPE",
    "HELDOUT_SHAPE_MOTION",
    "MOTIONS",
    "SHAPES",
    "Background",
    "BackgroundStyle",
    "Color",
    "Motion",
    "ObjectSpec",
    "Scene",
    "Shape",
    "Split",
    "background_image",
    "caption",
    "is_heldout",
    "make_batch",
    "render_clip",
    "sample_scene",
]

Floats = NDArray[np.floating[Any]]
Split = Literal["train", "heldout"]
T = TypeVar("T")

# --- motions: t in [0, 1] -> (dx, dy, scale, angle); offsets are fractions of the frame ------
TRAVEL = 0.45  # translation distance
BOUNCE_HEIGHT, BOUNCE_HOPS = 0.35, 2
# Half a turn a clip: under a tenth of a turn a frame down to 8 frames, so even a star's
# orientation (which repeats every fifth of a turn) cannot alias between frames.
SPIN_TURNS = 0.5
GROW_FROM, GROW_TO = 0.55, 1.25  # scale at t=0 and t=1 (geometric, so log-size is linear)

MotionFn = Callable[[Floats], tuple[Floats, Floats, Floats, Floats]]


def _path(dx: float = 0.0, dy: float = 0.0) -> MotionFn:
    def fn(t: Floats) -> tuple[Floats, Floats, Floats, Floats]:
        one, zero = np.ones_like(t), np.zeros_like(t)
        return dx * (t - 0.5), dy * (t - 0.5), one, zero

    return fn


def _bounce(t: Floats) -> tuple[Floats, Floats, Floats, Floats]:
    # Lands on the floor (largest y) at t = 0, 1/2, 1; hop tops at 1/4 and 3/4.
    dy = BOUNCE_HEIGHT * (0.5 - np.abs(np.sin(np.pi * BOUNCE_HOPS * t)))
    return np.zeros_like(t), dy.astype(np.float32), np.ones_like(t), np.zeros_like(t)


def _spin(t: Floats) -> tuple[Floats, Floats, Floats, Floats]:
    zero = np.zeros_like(t)
    return zero, zero, np.ones_like(t), (2 * np.pi * SPIN_TURNS * t).astype(np.float32)


def _scale(start: float, end: float) -> MotionFn:
    def fn(t: Floats) -> tuple[Floats, Floats, Floats, Floats]:
        zero = np.zeros_like(t)
        return zero, zero, (start * (end / start) ** t).astype(np.float32), zero

    return fn


MOTIONS: dict[Motion, MotionFn] = {
    Motion.LEFT: _path(dx=-TRAVEL),
    Motion.RIGHT: _path(dx=TRAVEL),
    Motion.UP: _path(dy=-TRAVEL),  # image rows grow downwards
    Motion.DOWN: _path(dy=TRAVEL),
    Motion.BOUNCING: _bounce,
    Motion.SPINNING: _spin,
    Motion.GROWING: _scale(GROW_FROM, GROW_TO),
    Motion.SHRINKING: _scale(GROW_TO, GROW_FROM),
}

# --- shapes: signed distance (pixels, negative inside) at object-frame coordinates ----------
# r is the circumradius, so every shape of one size fits the same circle.
STAR_INNER = 0.45  # inner/outer radius; 0.38 is a regular pentagram, chunkier survives blur


def _circle(u: Floats, v: Floats, r: Floats) -> Floats:
    return np.hypot(u, v) - r


def _square(u: Floats, v: Floats, r: Floats) -> Floats:
    half = r / np.float32(math.sqrt(2.0))
    qx, qy = np.abs(u) - half, np.abs(v) - half
    outside: Floats = np.hypot(np.maximum(qx, 0), np.maximum(qy, 0))
    inside: Floats = np.minimum(np.maximum(qx, qy), 0)
    return outside + inside


def _triangle(u: Floats, v: Floats, r: Floats) -> Floats:
    # Intersection of three half-planes (apex up, inradius r/2): exact inside and within a
    # fraction of a pixel outside, which is all the one-pixel coverage ramp looks at.
    s, c = np.float32(math.sqrt(3) / 2), np.float32(0.5)
    return np.maximum(np.maximum(v, -s * u - c * v), s * u - c * v) - r / 2


def _star(u: Floats, v: Floats, r: Floats) -> Floats:
    # Exact five-pointed star after Inigo Quilez's sdStar5 (iquilezles.org, "2D distance
    # functions"): fold the plane into one tenth, measure to one edge; -v puts the apex up.
    k1x, k1y = np.float32(0.809016994), np.float32(-0.587785252)
    px, py = np.abs(u), -v
    w = 2 * np.maximum(k1x * px + k1y * py, 0)
    px, py = px - w * k1x, py - w * k1y
    w = 2 * np.maximum(-k1x * px + k1y * py, 0)
    px, py = np.abs(px + w * k1x), py - w * k1y - r
    bx, by = np.float32(STAR_INNER * -k1y), np.float32(STAR_INNER * k1x - 1)
    h = np.clip((px * bx + py * by) / (bx * bx + by * by), 0, r)
    return np.hypot(px - bx * h, py - by * h) * np.sign(py * bx - px * by)


SHAPES: dict[Shape, Callable[[Floats, Floats, Floats], Floats]] = {
    Shape.CIRCLE: _circle,
    Shape.SQUARE: _square,
    Shape.TRIANGLE: _triangle,
    Shape.STAR: _star,
}


# --- backgrounds: a colour per row, optionally with bands or fixed stars -------------------
@dataclass(frozen=True)
class BackgroundStyle:
    """A backdrop that varies only with height (the analyser models it per row), plus
    optional one-pixel stars, too small to read as an object and the same in every clip."""

    stops: tuple[RGB, ...]  # gradient, top to bottom
    bands: int = 0  # lighter horizontal bands (waves) over the height
    band_rgb: RGB = (0, 0, 0)  # added at a band's crest
    stars: int = 0


BACKGROUNDS: dict[Background, BackgroundStyle] = {
    Background.STUDIO: BackgroundStyle(((64, 64, 68), (46, 46, 50))),
    Background.SUNSET: BackgroundStyle(((40, 24, 72), (100, 44, 76), (120, 54, 40))),
    Background.NIGHT: BackgroundStyle(((8, 12, 34), (18, 24, 56)), stars=22),
    Background.OCEAN: BackgroundStyle(
        ((20, 60, 102), (10, 34, 72)), bands=7, band_rgb=(14, 22, 24)
    ),
    Background.GRASS: BackgroundStyle(((44, 90, 34), (26, 62, 22))),
}
STAR_RGB = (196, 196, 214)


@functools.cache
def background_image(background: Background, size: int) -> Floats:
    """The background as a (size, size, 3) float32 image; cached and read-only."""
    style = BACKGROUNDS[background]
    stops = np.array(style.stops, np.float32)
    y = (np.arange(size, dtype=np.float32) + 0.5) / size
    at = np.linspace(0, 1, len(stops))
    rows = np.stack([np.interp(y, at, stops[:, c]) for c in range(3)], axis=1)  # (H, 3)
    crest = np.maximum(np.sin(2 * np.pi * style.bands * y), 0) ** 4
    rows += crest[:, None] * np.array(style.band_rgb, np.float32)
    image = np.repeat(rows[:, None, :], size, axis=1).astype(np.float32)  # (H, W, 3)
    star_xy = np.random.default_rng(7).uniform(0.03, 0.97, (style.stars, 2))
    columns, lines = (star_xy * size).astype(int).T
    image[lines, columns] = STAR_RGB
    image.flags.writeable = False
    return image


# --- scenes -------------------------------------------------------------------------------
def _pose(obj: ObjectSpec, t: Floats) -> tuple[Floats, Floats, Floats, Floats]:
    """Centre (fractions), circumradius (fraction) and angle of ``obj`` at times ``t``."""
    dx, dy, scale, angle = MOTIONS[obj.motion](t)
    return obj.x + dx, obj.y + dy, obj.size / 2 * scale, angle


def render_clip(scene: Scene, n_frames: int = 16, size: int = 64) -> NDArray[np.uint8]:
    """Render ``scene`` as ``(n_frames, size, size, 3)`` uint8 RGB; deterministic."""
    t = np.linspace(0, 1, n_frames, dtype=np.float32)
    frames = np.repeat(background_image(scene.background, size)[None], n_frames, axis=0)
    grid = np.arange(size, dtype=np.float32) + np.float32(0.5)
    for obj in scene.objects:
        cx, cy, radius, angle = _pose(obj, t)
        cx, cy, radius = cx * size, cy * size, radius * size  # fractions -> pixels
        # Only the box the object sweeps is shaded: most of the frame is plain background.
        x0, x1 = _span(cx, radius, size)
        y0, y1 = _span(cy, radius, size)
        px = grid[None, None, x0:x1] - cx[:, None, None]  # (F, 1, w)
        py = grid[None, y0:y1, None] - cy[:, None, None]  # (F, h, 1)
        if angle.any():  # into the object's frame; the others never turn
            cos, sin = np.cos(angle)[:, None, None], np.sin(angle)[:, None, None]
            px, py = cos * px + sin * py, cos * py - sin * px  # (F, h, w)
        dist = SHAPES[obj.shape](px, py, radius[:, None, None])  # (F, h, w)
        alpha = np.clip(0.5 - dist, 0, 1)[..., None]  # one-pixel coverage ramp = anti-aliasing
        region = frames[:, y0:y1, x0:x1]
        region += alpha * (np.array(COLOR_RGB[obj.color], np.float32) - region)
    frames += 0.5  # round, not truncate
    return frames.astype(np.uint8)


def _span(centre: Floats, radius: Floats, size: int) -> tuple[int, int]:
    lo = int(max(0, math.floor(float(np.min(centre - radius)) - 1)))
    hi = int(min(size, math.ceil(float(np.max(centre + radius)) + 1)))
    return lo, hi


# --- splits -------------------------------------------------------------------------------
# Attribute pairs that never occur in the training split; each value still occurs in train.
HELDOUT_COLOR_SHAPE = frozenset(
    {
        (Color.RED, Shape.STAR),
        (Color.GREEN, Shape.CIRCLE),
        (Color.BLUE, Shape.SQUARE),
        (Color.YELLOW, Shape.TRIANGLE),
    }
)
HELDOUT_SHAPE_MOTION = frozenset(
    {
        (Shape.SQUARE, Motion.BOUNCING),
        (Shape.TRIANGLE, Motion.GROWING),
        (Shape.STAR, Motion.LEFT),
        (Shape.CIRCLE, Motion.UP),
    }
)
HELDOUT_COLOR_BACKGROUND = frozenset(
    {
        (Color.WHITE, Background.NIGHT),
        (Color.ORANGE, Background.OCEAN),
        (Color.PINK, Background.GRASS),
        (Color.PURPLE, Background.SUNSET),
    }
)
EXCLUDED = frozenset({(Shape.CIRCLE, Motion.SPINNING)})  # from both splits: see module doc

SIZE_RANGE = {1: (0.30, 0.42), 2: (0.27, 0.35)}  # two objects must fit side by side
EDGE_MARGIN, GAP = 0.02, 0.03  # fractions of the frame
TWO_OBJECT_P = 0.25
# Times at which paths are checked: between two of them nothing moves more than GAP.
_T_CHECK = np.linspace(0, 1, 33, dtype=np.float32)


def _object_heldout(obj: ObjectSpec, background: Background) -> bool:
    return (
        (obj.color, obj.shape) in HELDOUT_COLOR_SHAPE
        or (obj.shape, obj.motion) in HELDOUT_SHAPE_MOTION
        or (obj.color, background) in HELDOUT_COLOR_BACKGROUND
    )


def is_heldout(scene: Scene) -> bool:
    """Whether any object of ``scene`` shows a held-out attribute combination."""
    return any(_object_heldout(obj, scene.background) for obj in scene.objects)


def _pick(rng: np.random.Generator, values: Sequence[T]) -> T:
    return values[int(rng.integers(len(values)))]


# Sorted: frozenset order follows str hashes, which change from one process to the next.
_HELDOUT_DRAWS: tuple[dict[str, Any], ...] = (
    *({"color": c, "shape": s} for c, s in sorted(HELDOUT_COLOR_SHAPE)),
    *({"shape": s, "motion": m} for s, m in sorted(HELDOUT_SHAPE_MOTION)),
    *({"color": c, "background": b} for c, b in sorted(HELDOUT_COLOR_BACKGROUND)),
)


def sample_scene(
    rng: np.random.Generator, split: Split = "train", n_objects: int | None = None
) -> Scene:
    """Draw a scene of ``split``: train never shows a held-out combination; in heldout the
    first object always shows one (drawn uniformly from the twelve), the rest is uniform."""
    n = n_objects if n_objects is not None else 1 + int(rng.random() < TWO_OBJECT_P)
    if split not in ("train", "heldout") or n not in SIZE_RANGE:
        raise ValueError(f"split={split!r} n_objects={n!r}: want train/heldout and 1 or 2")
    for _ in range(1000):
        fixed = dict(_pick(rng, _HELDOUT_DRAWS)) if split == "heldout" else {}
        background = fixed.pop("background", None) or _pick(rng, list(Background))
        first = _sample_object(rng, SIZE_RANGE[n], **fixed)
        if first is None or (split == "train" and _object_heldout(first, background)):
            continue
        objects = [first]
        if n == 2:
            second = _sample_second(rng, first, background, split)
            if second is None:
                continue
            objects.append(second)
        return Scene(background, tuple(objects))
    raise RuntimeError("could not draw a scene")  # unreachable with the tables above


def _sample_object(
    rng: np.random.Generator,
    size_range: tuple[float, float],
    color: Color | None = None,
    shape: Shape | None = None,
    motion: Motion | None = None,
) -> ObjectSpec | None:
    color = color or _pick(rng, list(Color))
    shape = shape or _pick(rng, list(Shape))
    motion = motion or _pick(rng, list(Motion))
    size = float(rng.uniform(*size_range))
    if (shape, motion) in EXCLUDED:
        return None
    # Anchor anywhere that keeps the whole path, at its largest scale, inside the frame.
    dx, dy, scale, _ = MOTIONS[motion](_T_CHECK)
    reach = size / 2 * float(scale.max()) + EDGE_MARGIN
    x_reach, y_reach = float(np.abs(dx).max()) + reach, float(np.abs(dy).max()) + reach
    x = float(rng.uniform(x_reach, 1 - x_reach))
    y = float(rng.uniform(y_reach, 1 - y_reach))
    return ObjectSpec(color, shape, motion, size, x, y)


def _sample_second(
    rng: np.random.Generator, first: ObjectSpec, background: Background, split: Split
) -> ObjectSpec | None:
    cx1, cy1, r1, _ = _pose(first, _T_CHECK)
    for _ in range(50):
        other = _sample_object(rng, SIZE_RANGE[2])
        if other is None or other.color == first.color:
            continue
        if split == "train" and _object_heldout(other, background):
            continue
        cx2, cy2, r2, _ = _pose(other, _T_CHECK)
        if np.all(np.hypot(cx1 - cx2, cy1 - cy2) >= r1 + r2 + GAP):
            return other
    return None


def make_batch(
    rng: np.random.Generator,
    batch: int,
    split: Split = "train",
    n_frames: int = 16,
    size: int = 64,
    *,
    paraphrase: bool = False,
    n_objects: int | None = None,
) -> tuple[NDArray[np.uint8], list[str], list[Scene]]:
    """``batch`` scenes of ``split`` as clips ``(B, F, H, W, 3)`` uint8, captions and scenes."""
    scenes = [sample_scene(rng, split, n_objects) for _ in range(batch)]
    captions = [caption(scene, rng, paraphrase=paraphrase) for scene in scenes]
    clips = np.stack([render_clip(scene, n_frames, size) for scene in scenes])
    return clips, captions, scenes
