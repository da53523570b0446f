"""Sound as a file carries it: any model's waveform -> 48 kHz stereo, exactly as long as the
video, at -16 LUFS integrated with its true peak under -1 dBTP, faded in and out; and the
seams where two sounds meet.

Loudness is ITU-R BS.1770-4 integrated loudness (K-weighted, gated), measured with
pyloudnorm; true peak is the sample peak of a 4x oversampled signal (BS.1770-4 annex 2).
Resampling is polyphase (scipy's ``resample_poly``: a Kaiser-windowed FIR, no aliasing),
never linear interpolation. Every array here is (channels, samples) float32 in [-1, 1].
"""

from __future__ import annotations

import io
import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass
from fractions import Fraction
from typing import cast

import av
import numpy as np
from scipy.ndimage import minimum_filter1d, uniform_filter1d
from scipy.signal import butter, resample_poly, sosfiltfilt

RATE = 48_000  # what every file carries
CHANNELS = 2
CODEC = "aac"  # FFmpeg's own AAC-LC encoder, inside every PyAV wheel
BIT_RATE = 192_000  # stereo AAC-LC: transparent for most listeners from ~160 kb/s
_AAC_FRAME = 1024  # samples per AAC-LC frame
TARGET_LUFS = -16.0  # integrated; streaming platforms' and Apple's podcast level
CEILING_DBTP = -1.0  # the most a file's true peak may reach
# Where the limiter aims: AAC coding overshoots the PCM's peaks, by up to ~0.7 dB on
# noise-like sound at 192 kb/s (measured on LTX-2's tiny twin); AES TD1004 advises 1-2 dB.
_LIMIT_DBTP = -2.0
_CODED_MARGIN_DB = 0.1  # under the ceiling, once coded: a second coding varies a little
FADE_S = 0.010  # no file starts or ends with a click
CROSSFADE_S = 0.040  # where two sounds meet (operations, shots): long enough not to click,
# short enough that a knock on a seam frame is not smeared into the next
_EDGE_FADE_S = 0.005  # where a sound meets silence inside a video
_OVERSAMPLE = 4  # true peak: BS.1770-4 annex 2 asks for at least 4x at 48 kHz
_LOOKAHEAD_S = 0.005  # the limiter's gain reaches its lowest this long before a peak
_ROUNDS = 8
_KEPT_LU = 1.0  # a given sound this near the target keeps its gain (see near_target)
_HIGH_PASS_HZ = 20.0  # the bottom of human hearing
_FILTER_PAD = 4_800  # samples the zero-phase filter reflects at each end
_BLOCK_S = 0.4  # BS.1770's gating block: the shortest sound it can measure


@dataclass(frozen=True)
class Loudness:
    lufs: float  # integrated (BS.1770-4); -inf for silence
    true_peak_dbtp: float  # -inf for silence

    def to_json(self) -> dict[str, float | None]:
        """For the sidecar: dB rounded to a hundredth, silence as null."""
        return {
            "loudness_lufs": round(self.lufs, 2) if math.isfinite(self.lufs) else None,
            "true_peak_dbtp": (
                round(self.true_peak_dbtp, 2) if math.isfinite(self.true_peak_dbtp) else None
            ),
        }


def samples_for(seconds: float) -> int:
    """Samples at ``RATE`` covering ``seconds`` (a video of n frames lasts n / fps s)."""
    return max(1, round(seconds * RATE))


def fit(samples: np.ndarray, rate: int, n: int) -> np.ndarray:
    """A model's sound (C, S) at ``rate`` -> stereo (2, n) at ``RATE``.

    ``n`` is the length of the time it must span, which may differ a little from S / rate:
    a model that renders 121 frames at 24 fps (5.04 s) for a 5 s video has its frames
    stretched onto the 5 s, so its sound is stretched with them (a 0.8% change of rate,
    which keeps picture and sound in step) rather than cut."""
    stereo = to_stereo(np.asarray(samples, np.float32))
    if stereo.shape[1] == n and rate == RATE:
        return stereo
    # The exact ratio n / S can have a huge denominator; the closest one under 2000 is off by
    # under a sample on any length we make, and what it misses is padded or cut below.
    ratio = Fraction(n, stereo.shape[1]).limit_denominator(2000)
    out: np.ndarray = resample_poly(stereo, ratio.numerator, ratio.denominator, axis=1)
    out = out.astype(np.float32)
    if out.shape[1] >= n:
        return out[:, :n]
    return np.pad(out, ((0, 0), (0, n - out.shape[1])), mode="edge")


def to_stereo(samples: np.ndarray) -> np.ndarray:
    """Mono is heard in both ears; more than two channels are folded down by their mean."""
    if samples.ndim != 2 or samples.shape[0] < 1:
        raise ValueError(f"sound must be (channels, samples), got shape {samples.shape}")
    if samples.shape[0] == CHANNELS:
        return samples
    if samples.shape[0] == 1:
        return np.repeat(samples, CHANNELS, axis=0)
    mean = samples.mean(axis=0, keepdims=True)
    return np.repeat(mean, CHANNELS, axis=0)


def master(stereo: np.ndarray, *, regain: bool = True) -> tuple[np.ndarray, Loudness]:
    """Stereo (2, n) at ``RATE`` -> what the file carries and its measured loudness:
    -16 LUFS integrated (within a few hundredths), true peak <= -1 dBTP, 10 ms fades.
    Silence stays silence.

    ``regain=False`` leaves the gain alone (peaks are still held under the ceiling): for
    sound an operation kept from a source mastered here, which stays sample for sample,
    beside new sound mastered on its own."""
    x = np.nan_to_num(stereo.astype(np.float32), nan=0.0, posinf=0.0, neginf=0.0)
    x = _faded(x if not regain else _dc_blocked(x))
    if not regain:
        return _settled(x)
    # Gain to the target, then limit the peaks the gain raised, which lowers the loudness a
    # little: a few rounds settle both (the limiter only acts on short peaks). A sound made
    # mostly of peaks (one knock in a tenth of a second) may end up to ~2 dB under.
    for _ in range(_ROUNDS):
        lufs = loudness(x)
        if not math.isfinite(lufs) or abs(lufs - TARGET_LUFS) < 0.02:
            break
        x = _limited(x * np.float32(10 ** ((TARGET_LUFS - lufs) / 20)))
    return _settled(x)


def _settled(x: np.ndarray) -> tuple[np.ndarray, Loudness]:
    x = _under_ceiling_once_coded(_limited(x))
    return x, measure(x)


def _under_ceiling_once_coded(x: np.ndarray) -> np.ndarray:
    """``x``, turned down by what AAC coding would add over ``CEILING_DBTP``: coded and
    decoded once here (a few milliseconds a second of sound), so the file keeps the ceiling
    whatever the sound (noise-like sound overshoots most)."""
    if not x.any():
        return x
    over = true_peak_dbtp(aac_round_trip(x)) - (CEILING_DBTP - _CODED_MARGIN_DB)
    if over <= 0:
        return x
    turned: np.ndarray = (x * np.float32(10 ** (-over / 20))).astype(np.float32)
    return turned


def measure(stereo: np.ndarray) -> Loudness:
    return Loudness(loudness(stereo), true_peak_dbtp(stereo))


def loudness(stereo: np.ndarray, rate: int = RATE) -> float:
    """Integrated loudness, LUFS (BS.1770-4), of (C, S) samples at ``rate``. A sound
    shorter than one gating block is measured over itself repeated to the block's length."""
    import pyloudnorm

    block = round(_BLOCK_S * rate) + 1
    if stereo.shape[1] < block:
        stereo = np.tile(stereo, (1, math.ceil(block / stereo.shape[1])))
    if not np.any(stereo):
        return -math.inf
    return float(pyloudnorm.Meter(rate).integrated_loudness(stereo.T.astype(np.float64)))


def near_target(samples: np.ndarray, rate: int) -> np.ndarray:
    """A given sound (C, S) at ``rate`` to be kept in a new video: as it is when within
    ``_KEPT_LU`` of the target (a video made here), else turned up or down as a whole to
    it (a camera's clip), so that kept sound stays one sound, only louder or softer."""
    lufs = loudness(to_stereo(samples), rate)  # as heard: a mono track plays in both ears
    if not math.isfinite(lufs) or abs(lufs - TARGET_LUFS) <= _KEPT_LU:
        return samples
    turned: np.ndarray = samples * np.float32(10 ** ((TARGET_LUFS - lufs) / 20))
    return turned


def true_peak_dbtp(stereo: np.ndarray) -> float:
    peak = float(np.abs(_oversampled(stereo)).max(initial=0.0))
    return 20 * math.log10(peak) if peak > 0 else -math.inf


@dataclass(frozen=True)
class Part:
    """A sound on a timeline: ``samples`` (2, m) from sample ``start`` on, heard over the
    samples ``own`` (within what it covers); beyond ``own`` it serves the crossfades."""

    start: int
    samples: np.ndarray
    own: range

    @property
    def covered(self) -> range:
        return range(self.start, self.start + self.samples.shape[1])


def join(parts: Sequence[Part], n: int) -> np.ndarray:
    """Parts on one timeline of ``n`` samples: each heard, exactly, over its own samples,
    silence where none is; where two meet they crossfade over up to ``CROSSFADE_S`` of
    the time both have sound (placed as near the seam as that allows, raised cosine),
    and an edge inside the video with nothing to fade into fades over ``_EDGE_FADE_S``."""
    out = np.zeros((CHANNELS, n), np.float32)
    ordered = sorted((p for p in parts if p.own), key=lambda p: p.own.start)
    for part in ordered:
        own = _within(part.own, part.covered, range(n))
        first = own.start - part.start
        out[:, own.start : own.stop] = part.samples[:, first : first + len(own)]
    for left, right in itertools.pairwise(ordered):
        if left.own.stop == right.own.start:
            _crossfade(out, left, right, n)
    edge = round(_EDGE_FADE_S * RATE)  # the video's own ends are faded by ``master``
    for k, part in enumerate(ordered):
        if part.own.start > 0 and (k == 0 or ordered[k - 1].own.stop != part.own.start):
            _fade(out, range(part.own.start, part.own.start + edge), rising=True)
        last = k == len(ordered) - 1
        if part.own.stop < n and (last or ordered[k + 1].own.start != part.own.stop):
            _fade(out, range(part.own.stop - edge, part.own.stop), rising=False)
    return out


def aac_round_trip(audio: np.ndarray) -> np.ndarray:
    """``audio`` (2, S) float32 at ``media.audio.RATE`` as a listener gets it from a file:
    coded as the files code it, and decoded."""
    check(audio)
    buffer = io.BytesIO()
    with av.open(buffer, "w", format="adts") as container:
        track = AacTrack(container, audio)
        track.finish()
    buffer.seek(0)
    with av.open(buffer, "r", format="aac") as container:
        chunks = [f.to_ndarray() for f in container.decode(audio=0)]
    return np.concatenate([c.reshape(CHANNELS, -1) for c in chunks], axis=1)


def check(audio: np.ndarray) -> None:
    if audio.ndim != 2 or audio.shape[0] != CHANNELS or audio.shape[1] < 1:
        raise ValueError(f"audio must be (2, samples) stereo, got shape {audio.shape}")
    if audio.dtype != np.float32:
        raise ValueError(f"audio must be float32, got {audio.dtype}")


class AacTrack:
    """An AAC-LC stream at ``RATE`` in a container being written, fed in encoder-sized
    frames (``media.encode`` interleaves it with the picture)."""

    def __init__(self, container: av.container.OutputContainer, samples: np.ndarray) -> None:
        self.container, self.samples, self.done = container, samples, 0
        self.stream = cast(av.AudioStream, container.add_stream(CODEC, rate=RATE))
        self.stream.layout = "stereo"
        self.stream.format = "fltp"
        self.stream.bit_rate = BIT_RATE
        self.time_base = Fraction(1, RATE)

    def encode_until(self, seconds: float | Fraction) -> None:
        """Hand the encoder every whole AAC frame that starts before ``seconds``."""
        stop = min(self.samples.shape[1], round(seconds * RATE))
        while self.done < stop:
            chunk = np.ascontiguousarray(self.samples[:, self.done : self.done + _AAC_FRAME])
            frame = av.AudioFrame.from_ndarray(chunk, format="fltp", layout="stereo")
            frame.sample_rate = RATE
            frame.pts, frame.time_base = self.done, self.time_base
            self.container.mux(self.stream.encode(frame))
            self.done += chunk.shape[1]

    def finish(self) -> None:
        self.encode_until(self.samples.shape[1] / RATE)
        self.container.mux(self.stream.encode(None))


def _within(*ranges: range) -> range:
    return range(max(r.start for r in ranges), min(r.stop for r in ranges))


def _crossfade(out: np.ndarray, left: Part, right: Part, n: int) -> None:
    """``left`` into ``right`` around their seam, over the time both have sound."""
    seam, half = right.own.start, round(CROSSFADE_S * RATE / 2)
    both = _within(left.covered, right.covered, range(n))
    width = min(2 * half, len(both))
    if width < 2:  # neither reaches past the seam: short fades either side of it
        edge = round(_EDGE_FADE_S * RATE)
        _fade(out, range(seam - edge, seam), rising=False)
        _fade(out, range(seam, seam + edge), rising=True)
        return
    lo = min(max(seam - half, both.start), both.stop - width)
    t = np.arange(lo, lo + width)
    rise = _ramp(t - lo, width - 1).astype(np.float32)
    a = left.samples[:, t - left.start]
    b = right.samples[:, t - right.start]
    out[:, lo : lo + width] = a * (1 - rise) + b * rise


def _fade(out: np.ndarray, span: range, *, rising: bool) -> None:
    span = _within(span, range(out.shape[1]))
    if len(span) < 2:
        return
    ramp = _ramp(np.arange(len(span), dtype=np.float32), len(span) - 1).astype(np.float32)
    out[:, span.start : span.stop] *= ramp if rising else ramp[::-1]


def silence(n: int) -> np.ndarray:
    return np.zeros((CHANNELS, n), np.float32)


def _ramp(x: np.ndarray, width: int) -> np.ndarray:
    """0 below 0, 1 above ``width``, a raised cosine between."""
    if width <= 0:
        return (x >= 0).astype(np.float32)
    return 0.5 - 0.5 * np.cos(np.pi * np.clip(x / width, 0, 1))


def _dc_blocked(x: np.ndarray) -> np.ndarray:
    """Without what lies under ``_HIGH_PASS_HZ``: an offset no one hears, which the
    loudness meter ignores but which takes up the peak's headroom (a model's vocoder may
    give one) and which AAC codes badly. Zero-phase, so no sound moves in time."""
    if x.shape[1] <= _FILTER_PAD:
        centred: np.ndarray = x - x.mean(axis=1, keepdims=True)
        return centred
    sos = butter(2, _HIGH_PASS_HZ, btype="highpass", fs=RATE, output="sos")
    out: np.ndarray = sosfiltfilt(sos, x, axis=1, padlen=_FILTER_PAD).astype(np.float32)
    return out


def _faded(x: np.ndarray) -> np.ndarray:
    n = min(round(FADE_S * RATE), x.shape[1] // 2)
    if n > 0:
        ramp = _ramp(np.arange(n, dtype=np.float32), n).astype(np.float32)
        x = x.copy()
        x[:, :n] *= ramp
        x[:, -n:] *= ramp[::-1]
    return x


def _oversampled(x: np.ndarray) -> np.ndarray:
    return resample_poly(x, _OVERSAMPLE, 1, axis=1)  # type: ignore[no-any-return]


def _limited(x: np.ndarray) -> np.ndarray:
    """Peaks brought under ``_LIMIT_DBTP`` by a smooth gain that looks ahead: the gain at
    each sample is at most what every true peak within the lookahead needs, so none
    escapes, and it moves over milliseconds, so it adds no click."""
    ceiling = 10 ** (_LIMIT_DBTP / 20)
    peak = np.abs(_oversampled(x)).max(axis=0)  # (n * 4,) across channels
    peak = peak[: x.shape[1] * _OVERSAMPLE].reshape(-1, _OVERSAMPLE).max(axis=1)  # (n,)
    need = np.minimum(1.0, ceiling / np.maximum(peak, 1e-12))
    if need.min() >= 1.0:
        return x
    window = max(1, round(_LOOKAHEAD_S * RATE))
    # The smallest need within `window` either side, averaged over `window`: each average
    # takes only values at most the need at its centre, so the gain never exceeds it.
    gain = uniform_filter1d(minimum_filter1d(need, 2 * window + 1), window)
    out: np.ndarray = (x * gain.astype(np.float32)).astype(np.float32)
    return out
