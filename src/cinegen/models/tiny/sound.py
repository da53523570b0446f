"""cinegen-tiny's sound design: what a toy-world scene sounds like, and the synthesiser.

Every object is a voice (``docs/tiny-sound.md`` has the whole design):

- its **colour** is its pitch (``COLOR_NOTE``: eight pitch classes, hue order going up);
- its **shape** is its timbre, a fixed harmonic recipe (``SHAPE_HARMONICS``);
- its **size** is its loudness (linear in the diameter, so growing is a crescendo);
- its **horizontal position** is its stereo position (equal-power pan across the frame);
- its **height** is its brightness (higher harmonics fade as it sinks);
- a **bounce** knocks at every floor contact (t = 0, 1/2, 1): a short noise burst with a
  pitched thump, in the object's place in the stereo field.

``Controls`` hold those quantities on a grid of ``STEPS`` points over the clip's normalised
time (t = 0 at the first frame, t = 1 at the last): cinegen-tiny's 16 frames are stretched
over whatever duration is asked, so the same motion sits at the same normalised times at
any fps. ``design`` gives a scene's controls (the network's training targets);
``synthesise`` renders any controls to stereo samples: a harmonic oscillator bank plus
noise, after DDSP's additive and filtered-noise synthesisers (Engel et al., "DDSP:
Differentiable Digital Signal Processing", ICLR 2020), here fixed, not learned.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from cinegen.models.tiny.scene import Scene
from cinegen.models.tiny.toyworld import MOTIONS
from cinegen.models.tiny.vocab import Color, Motion, Shape

F32 = NDArray[np.float32]
RATE = 24_000  # Hz: the highest partial (C#5 x 12) is 6.6 kHz; media resamples to 48 kHz
STEPS = 64  # control points over the clip's normalised time
HARMONICS = 12
COLORS, SHAPES = list(Color), list(Shape)
VOICES = len(COLORS)  # one voice per colour: two objects of a scene never share one

# MIDI notes: C4 D4 E4 F4 G4 A4 B4 C#5. Eight distinct pitch classes; white, the brightest
# colour, is the highest note. Neighbours a semitone apart (E-F, B-C#... C) are 6% apart in
# frequency, which a clip-long spectrum separates by tens of bins.
COLOR_NOTE: dict[Color, int] = {
    Color.RED: 60,
    Color.ORANGE: 62,
    Color.YELLOW: 64,
    Color.GREEN: 65,
    Color.BLUE: 67,
    Color.PURPLE: 69,
    Color.PINK: 71,
    Color.WHITE: 73,
}


def note_hz(note: float) -> float:
    return 440.0 * 2 ** ((note - 69) / 12)


def _harmonics(amplitudes: dict[int, float]) -> F32:
    table = np.zeros(HARMONICS, np.float32)
    for n, a in amplitudes.items():
        table[n - 1] = a
    unit: F32 = (table / np.sqrt(np.sum(table**2))).astype(np.float32)  # equal power per shape
    return unit


_N = range(1, HARMONICS + 1)
# Timbres, harmonic amplitudes 1..12, each scaled to the same power:
SHAPE_HARMONICS: dict[Shape, F32] = {
    Shape.CIRCLE: _harmonics({1: 1.0, 2: 0.12, 3: 0.04}),  # round: nearly a sine, a flute
    Shape.SQUARE: _harmonics({n: 1 / n for n in _N if n % 2}),  # hollow: odd only, a clarinet
    Shape.TRIANGLE: _harmonics({n: 1 / n for n in _N}),  # bright: every harmonic, a brass saw
    Shape.STAR: _harmonics({1: 1.0, 2: 0.8, 4: 0.7, 8: 0.6, 3: 0.15, 5: 0.1}),  # glassy octaves
}
_TABLES = np.stack([SHAPE_HARMONICS[s] for s in SHAPES])  # (4, HARMONICS)

LOUDNESS_PER_DIAMETER = 0.5  # voice amplitude per unit of diameter (fraction of the frame)
TILT = 1.5  # harmonic n weighs n ** (-TILT * y): at the bottom of the frame, muffled
KNOCK_GAIN = 2.5  # a knock's peak over its voice's amplitude: it must stand out as an onset
KNOCK_DECAY_S = 0.03
KNOCK_SIGMA = 1.0  # width (steps) of a knock's bump in the controls
FADE_OUT_S = 0.01  # under a frame at 60 fps, so a knock on the last frame keeps its attack
CONTACTS = (0.0, 0.5, 1.0)  # toyworld._bounce lands on the floor at these times


@dataclass
class Controls:
    """What the synthesiser plays, on ``STEPS`` points of normalised time, per colour voice.

    ``amplitude`` 0 silences a voice. ``knock`` is a bump of height 1 at each knock (width
    ``KNOCK_SIGMA`` steps): ``knock_times`` reads the times back.
    """

    amplitude: F32  # (VOICES, STEPS) >= 0
    pan: F32  # (VOICES, STEPS) in [-1, 1], left to right
    height: F32  # (VOICES, STEPS) in [0, 1], top to bottom
    shape: F32  # (VOICES, 4) weights over SHAPES, summing to 1
    knock: F32  # (VOICES, STEPS) in [0, 1]

    @classmethod
    def silent(cls) -> Controls:
        zeros = np.zeros((VOICES, STEPS), np.float32)
        shape = np.full((VOICES, len(SHAPES)), 1 / len(SHAPES), np.float32)
        return cls(zeros.copy(), zeros.copy(), np.full_like(zeros, 0.5), shape, zeros.copy())

    def stacked(self) -> F32:
        """(VOICES, 4, STEPS): amplitude, pan, height, knock (the network's per-step outputs)."""
        return np.stack([self.amplitude, self.pan, self.height, self.knock], axis=1)


def grid() -> F32:
    return np.linspace(0, 1, STEPS, dtype=np.float32)


def design(scene: Scene, crop: tuple[float, float, float, float] = (0, 0, 1, 1)) -> Controls:
    """The controls ``scene`` sounds like, seen through ``crop`` (x0, y0, x1, y1 as fractions:
    the part of the world's frame the picture shows, like the engine's centre crop)."""
    controls, t = Controls.silent(), grid()
    x0, y0, x1, y1 = crop
    for obj in scene.objects:
        v = COLORS.index(obj.color)
        dx, dy, scale, _ = MOTIONS[obj.motion](t)
        x = np.clip((obj.x + dx - x0) / (x1 - x0), 0, 1)
        y = np.clip((obj.y + dy - y0) / (y1 - y0), 0, 1)
        controls.amplitude[v] = LOUDNESS_PER_DIAMETER * obj.size * scale
        controls.pan[v] = 2 * x - 1
        controls.height[v] = y
        controls.shape[v] = np.eye(len(SHAPES), dtype=np.float32)[SHAPES.index(obj.shape)]
        if obj.motion is Motion.BOUNCING:
            steps = np.arange(STEPS, dtype=np.float32)
            for c in CONTACTS:
                bump = np.exp(-0.5 * ((steps - c * (STEPS - 1)) / KNOCK_SIGMA) ** 2)
                controls.knock[v] = np.maximum(controls.knock[v], bump)
    return controls


def knock_times(knock: F32, threshold: float = 0.5) -> list[float]:
    """Normalised times of the peaks of one voice's knock curve (STEPS,) above ``threshold``,
    to a fraction of a step (a parabola through each peak and its neighbours)."""
    padded = np.concatenate([[-1.0], knock, [-1.0]])
    times = []
    for i in range(STEPS):
        left, mid, right = padded[i], padded[i + 1], padded[i + 2]
        if mid < threshold or mid < left or mid <= right:
            continue
        # An edge peak mirrors its one neighbour: the bump is symmetric about its centre.
        left = right if i == 0 else left
        right = left if i == STEPS - 1 else right
        curve = left - 2 * mid + right
        shift = 0.5 * (left - right) / curve if curve < 0 else 0.0
        times.append(float(np.clip((i + np.clip(shift, -0.5, 0.5)) / (STEPS - 1), 0, 1)))
    return times


def clip_time(n_frames: int, fps: float, rate: int = RATE) -> F32:
    """Each sample's normalised clip time: frame i shows t = i / (n_frames - 1) and lasts
    1 / fps, so t runs 0..1 over the first n_frames - 1 frames and holds over the last."""
    n = round(n_frames / fps * rate)
    t = np.arange(n, dtype=np.float64) * fps / (rate * max(n_frames - 1, 1))
    return np.minimum(t, 1.0).astype(np.float32)


def synthesise(
    controls: Controls, *, n_frames: int, fps: float, seed: int, rate: int = RATE
) -> F32:
    """Render ``controls`` as (2, n_frames / fps * rate) float32 stereo samples."""
    rng = np.random.default_rng(seed)
    t = clip_time(n_frames, fps, rate)
    seconds = np.arange(len(t), dtype=np.float64) / rate
    out = np.zeros((2, len(t)), np.float32)
    steps = grid()
    for v in range(VOICES):
        if controls.amplitude[v].max() <= AUDIBLE:
            continue
        amplitude = np.interp(t, steps, controls.amplitude[v]).astype(np.float32)
        pan = np.interp(t, steps, np.clip(controls.pan[v], -1, 1))
        height = np.interp(t, steps, np.clip(controls.height[v], 0, 1))
        f0 = note_hz(COLOR_NOTE[COLORS[v]])
        mono = amplitude * _tone(f0, controls.shape[v], height, seconds, rng)
        for when in knock_times(controls.knock[v]):
            start = round(when * (n_frames - 1) / fps * rate)
            level = KNOCK_GAIN * float(np.interp(when, steps, controls.amplitude[v]))
            _add_knock(mono, start, f0, level, rate, rng)
        angle = (pan + 1) * (math.pi / 4)  # equal-power: L = cos, R = sin
        out[0] += (mono * np.cos(angle)).astype(np.float32)
        out[1] += (mono * np.sin(angle)).astype(np.float32)
    fade = min(out.shape[1], round(FADE_OUT_S * rate))  # no click where the picture ends
    out[:, out.shape[1] - fade :] *= np.linspace(1, 0, fade, dtype=np.float32)
    return out


AUDIBLE = 0.02  # a voice quieter than this all clip long is not played at all


def _tone(
    f0: float, shape: F32, height: NDArray[Any], seconds: NDArray[Any], rng: np.random.Generator
) -> F32:
    """A harmonic tone of ``f0``: the shapes' recipes mixed by ``shape``, tilted darker with
    ``height`` per sample and kept at the same power (DDSP's harmonic synthesiser with a
    fixed, normalised harmonic distribution)."""
    recipe = np.clip(shape, 0, None) @ _TABLES  # (HARMONICS,)
    n = np.arange(1, HARMONICS + 1, dtype=np.float64)[:, None]  # (H, 1)
    weights = recipe[:, None] * n ** (-TILT * height[None])  # (H, S)
    weights /= np.sqrt(np.sum(weights**2, axis=0, keepdims=True)) + 1e-9
    phase = 2 * np.pi * f0 * n * seconds[None] + rng.uniform(0, 2 * np.pi, (HARMONICS, 1))
    tone: F32 = (0.7 * np.sum(weights * np.sin(phase), axis=0)).astype(np.float32)
    return tone


def _add_knock(
    mono: F32, start: int, f0: float, level: float, rate: int, rng: np.random.Generator
) -> None:
    """A knock from sample ``start``: a 1 ms attack, then an exponential decay of white noise
    (DDSP's noise branch, unfiltered) and a thump two octaves below the voice."""
    n = min(len(mono) - start, int(8 * KNOCK_DECAY_S * rate))
    if n <= 0:
        return
    s = np.arange(n) / rate
    envelope = np.minimum(s / 0.001, 1.0) * np.exp(-s / KNOCK_DECAY_S)
    noise = rng.standard_normal(n) * 0.5
    thump = np.sin(2 * np.pi * (f0 / 4) * s)
    mono[start : start + n] += (level * envelope * (noise + thump)).astype(np.float32)
