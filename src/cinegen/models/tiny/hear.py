"""Read cinegen-tiny's sound back: which colours sound, where the knocks fall, where the
sound sits in the stereo field, frame by frame. The ear ``eval-tiny-audio`` and
``bench/audio.py`` measure the soundtrack with, as ``analyse`` is the eye for pictures.

It must read a delivered file as well as the synthesiser's own samples: media resamples to
48 kHz, changes the gain (loudness normalisation) and codes AAC. So every reading is a
ratio or a shape, never a level:

1. **pitch**: a harmonic sum (the salience of a note is its first eight partials'
   compressed magnitudes, weighed down the series) over the notes C3..B5, per video frame
   on a ~0.17 s window and over the whole clip; the best note's pitch class is a colour by
   ``sound.COLOR_NOTE`` (pitch classes the design does not use read as no colour);
2. **onsets**: the level of the sound above 2 kHz (knocks are broadband, the tones'
   partials up there are steady) over the last ``SMOOTH_MS`` at every millisecond; an
   onset is a rise of ``ONSET_RISE_DB`` over the level 8-20 ms before, that peaks within
   ``ONSET_RANGE_DB`` of the clip's loudest moment up there (codec noise rises too, but
   stays far below a knock), the strongest within ``ONSET_GAP_S``. The clip is heard from
   silence, so its first sound is an onset, however quiet; its last ``END_GUARD_S`` is
   faded out and not listened to (a cut clicks, AAC's padding rises there; a knock on the
   last frame comes at least 1 / fps before the end);
3. **pan**: per video frame, equal-power pan from the channels' levels between 100 Hz and
   2 kHz: (4 / pi) atan2(R, L) - 1, so -1 is hard left;
4. **loudness** (dB, relative to the clip's loudest frame) and **brightness** (level above
   1 kHz against the total, dB) per video frame.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from cinegen.models.tiny.sound import COLOR_NOTE, note_hz
from cinegen.models.tiny.vocab import Color

F64 = NDArray[np.float64]
NOTES = np.arange(48, 84)  # C3..B5 candidates
PARTIALS = 8
PITCH_WINDOW_S = 0.17
ONSET_RISE_DB = 9.0
SMOOTH_MS = 8
ONSET_RANGE_DB = 15.0
ONSET_GAP_S = 0.05
END_GUARD_S = 0.01
LEAD_IN_S = 0.02  # silence heard before the clip, so that its first sound is an onset
_CLASS_COLOR: dict[int, Color] = {note % 12: color for color, note in COLOR_NOTE.items()}


@dataclass(frozen=True)
class Hearing:
    colors: list[Color]  # voices heard, loudest first (at most two)
    frame_colors: list[Color | None]  # the loudest pitch class per video frame, as a colour
    onsets: list[float]  # in video frames (seconds x fps) from the clip's start
    pan: F64  # (F,) in [-1, 1]
    loudness: F64  # (F,) dB, 0 at the loudest frame
    brightness: F64  # (F,) dB, level above 1 kHz over the whole level

    @property
    def color(self) -> Color | None:
        return self.colors[0] if self.colors else None


def hear(samples: NDArray[Any], rate: int, n_frames: int, fps: float) -> Hearing:
    """Read ``samples`` (2, S) (or (1, 2, S)) at ``rate``, the sound of ``n_frames`` at
    ``fps``."""
    x = np.asarray(samples, np.float64).reshape(-1, np.shape(samples)[-1])
    if x.shape[0] == 1:
        x = np.concatenate([x, x])
    x = x[:2] / (np.sqrt(np.mean(x[:2] ** 2)) + 1e-12)  # the gain carries nothing
    mono = x.mean(0)
    centres = ((np.arange(n_frames) + 0.5) / fps).astype(np.float64)
    salience = _salience(mono, rate, centres)  # (F, notes)
    return Hearing(
        colors=_clip_colors(salience),
        frame_colors=[_CLASS_COLOR.get(int(NOTES[k]) % 12) for k in salience.argmax(1)],
        onsets=[t * fps for t in onsets(mono, rate) if t < n_frames / fps - END_GUARD_S],
        pan=_pan(x, rate, n_frames, fps),
        loudness=_band_db(mono, rate, n_frames, fps, 0, rate / 2, relative=True),
        brightness=_band_db(mono, rate, n_frames, fps, 1000, rate / 2)
        - _band_db(mono, rate, n_frames, fps, 0, rate / 2),
    )


def _salience(mono: F64, rate: int, centres: F64) -> F64:
    """(F, notes): each note's harmonic sum on a window around each centre time."""
    n = 1 << math.ceil(math.log2(PITCH_WINDOW_S * rate))
    padded = np.pad(mono, n // 2)
    starts = np.clip(np.round(centres * rate).astype(int), 0, len(mono) - 1)
    frames = np.stack([padded[s : s + n] for s in starts]) * np.hanning(n)
    mags = np.sqrt(np.abs(np.fft.rfft(frames, axis=1)))  # (F, bins), compressed
    hz = np.array([note_hz(float(k)) for k in NOTES])
    out = np.zeros((len(centres), len(NOTES)))
    for p in range(1, PARTIALS + 1):
        bins = hz * p * n / rate
        ok = bins < mags.shape[1] - 2
        b = np.round(bins[ok]).astype(int)
        peak = np.maximum(np.maximum(mags[:, b - 1], mags[:, b]), mags[:, b + 1])
        out[:, ok] += 0.8 ** (p - 1) * peak
    return out


def _clip_colors(salience: F64) -> list[Color]:
    """Up to two colours: the best pitch class over the clip, and a second one as salient
    as half of it that is not a fifth or a major third away from the first (the intervals
    between a note and its strongest partials, or its subharmonics')."""
    total = salience.sum(0)
    order = np.argsort(total)[::-1]
    first = int(NOTES[order[0]])
    colors = [_CLASS_COLOR[first % 12]] if first % 12 in _CLASS_COLOR else []
    partial_classes = {(first + d) % 12 for d in (0, 7, -7, 4, -4)}  # x2; x3 and /3; x5, /5
    for k in order[1:]:
        if total[k] < 0.5 * total[order[0]]:
            break
        note = int(NOTES[k])
        if note % 12 not in partial_classes and note % 12 in _CLASS_COLOR:
            colors.append(_CLASS_COLOR[note % 12])
            break
    return colors


def onsets(mono: F64, rate: int) -> list[float]:
    """Onset times in seconds from the start of ``mono`` (see the module's step 2)."""
    lead, tail = int(LEAD_IN_S * rate), int(END_GUARD_S * rate)
    # The file's end cuts the sound off, a click in every band: fade the last END_GUARD_S
    # out (only the analysis sees this) and leave silence after it for the FFT's wrap.
    faded = mono.copy()
    faded[-tail:] *= 0.5 + 0.5 * np.cos(np.linspace(0, np.pi, len(faded[-tail:])))
    hp = _band(np.pad(faded, (lead, lead)), rate, 2000, rate / 2)[: lead + len(mono)]
    block = max(1, rate // 1000)
    n = len(hp) // block
    power = np.mean(hp[: n * block].reshape(n, block) ** 2, axis=1)
    # Over the last SMOOTH_MS: a tone's partials up there beat at its fundamental (a pulse
    # train every 3.8 ms for C4), which 1 ms blocks would hear as onsets.
    total = np.concatenate([[0.0], np.cumsum(power)])
    ends = np.arange(1, n + 1)
    smooth = (total[ends] - total[np.maximum(ends - SMOOTH_MS, 0)]) / SMOOTH_MS
    db = 10 * np.log10(smooth + 1e-8 * (smooth.max() + 1e-12))
    before = np.full(n, np.inf)
    for lag in range(SMOOTH_MS, 2 * SMOOTH_MS + 5):
        before[lag:] = np.minimum(before[lag:], db[:-lag])
    rise = db - np.where(np.isinf(before), db.min(), before)
    peak = np.array([db[i : i + SMOOTH_MS].max() for i in range(n)])
    quiet = peak < db.max() - ONSET_RANGE_DB
    quiet[: int(LEAD_IN_S * 1000) + 2 * SMOOTH_MS] = False  # the start rises from silence
    rise[quiet] = 0
    gap = int(ONSET_GAP_S * 1000)
    found: list[int] = []
    for i in np.argsort(rise)[::-1]:
        if rise[i] < ONSET_RISE_DB:
            break
        if all(abs(i - j) > gap for j in found):
            found.append(int(i))
    # The rise is largest when the attack fills the window: step back to where it began.
    starts = [_attack_start(db, i) for i in found]
    return sorted(max(0.0, (s * block - lead) / rate) for s in starts)


def _attack_start(db: F64, peak: int) -> int:
    """The first block of the rise that ends at ``peak``: within 3 dB of the level before."""
    window = db[max(0, peak - 2 * SMOOTH_MS - 4) : max(1, peak - SMOOTH_MS)]
    floor = window.min()
    i = peak
    while i > 0 and db[i - 1] > floor + 3 and peak - i < 2 * SMOOTH_MS:
        i -= 1
    return i


def _spans(rate: int, n_frames: int, fps: float, length: int) -> list[tuple[int, int]]:
    """Sample span of each video frame, at least 20 ms wide around its middle."""
    half = max(rate / fps, 0.02 * rate) / 2
    out = []
    for i in range(n_frames):
        mid = (i + 0.5) / fps * rate
        out.append((int(max(0, mid - half)), int(min(length, mid + half))))
    return out


def _band(x: F64, rate: int, low: float, high: float) -> F64:
    spectrum = np.fft.rfft(x, axis=-1)
    hz = np.fft.rfftfreq(x.shape[-1], 1 / rate)
    spectrum[..., (hz < low) | (hz > high)] = 0
    band: F64 = np.fft.irfft(spectrum, n=x.shape[-1], axis=-1)
    return band


def _pan(x: F64, rate: int, n_frames: int, fps: float) -> F64:
    tonal = _band(x, rate, 100, 2000) ** 2
    pan = np.zeros(n_frames)
    for i, (a, b) in enumerate(_spans(rate, n_frames, fps, x.shape[1])):
        left, right = np.sqrt(tonal[0, a:b].mean()), np.sqrt(tonal[1, a:b].mean())
        pan[i] = 4 / math.pi * math.atan2(right, left) - 1
    return pan


def _band_db(
    mono: F64, rate: int, n_frames: int, fps: float, low: float, high: float, relative: bool = False
) -> F64:
    power = _band(mono, rate, low, high) ** 2
    spans = _spans(rate, n_frames, fps, len(mono))
    db = np.array([10 * np.log10(power[a:b].mean() + 1e-12) for a, b in spans])
    return db - db.max() if relative else db
