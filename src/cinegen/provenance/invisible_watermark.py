"""The invisible watermark: a 48-bit payload hidden in the luma of every frame.

What it must survive is what every upload site does to a video: H.264 at crf 28, scaling,
cropping, cutting. The common open marks do not (NOTES.md), so this one is built for it:

- **A static tiled pattern.** One square tile of CELLS x CELLS cells, each cell +1 or -1,
  is rendered band-limited (no frequency above one cycle per two cells: smooth, and what
  H.264 keeps) and repeated over the frame, the same in every frame. A quarter of the cells
  are a fixed synchronisation pattern; the rest carry the payload's 140 coded bits, each
  bit in three or four cells scattered over the tile (ecc.py: CRC-16 and a rate-1/2
  convolutional code). It is added equally to R, G and B, so only luma changes, at about
  2.2 levels RMS (PSNR about 41 dB). The tile's side is 35% of the frame's short side.
- **Detection needs no original.** The frames are averaged (the pattern stays, the
  picture moves and averages out, and any 2-second stretch holds the whole pattern),
  whitened (each spatial frequency scaled to equal power, so the picture no longer
  drowns the faint pattern), and the tile's period is read off the autocorrelation:
  scaling changes the period, which is measured rather than assumed. The average is
  resampled to a DETECT_TILE-pixel period and folded into one tile; the synchronisation
  pattern's correlation peak gives the tile's offset, which cropping changes. The cells
  are then read, the code decoded, and the CRC says whether a payload was found. Noise
  passes the CRC once in 65,536 tries and a real mark also needs a correlation peak well
  above anything noise gives, so false detections are practically nil (bench/watermark.py
  measures it).

The layout of cells and their signs come from a key (``Settings.invisible_mark_key``): marks
made with one key are invisible to a detector using another. Reading a file for it (what
``verify`` is sent) is ``invisible_watermark_files.py``.
"""

from __future__ import annotations

import functools
import hashlib
import math
import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, NamedTuple

import numpy as np
from PIL import Image

from cinegen.media.encode import check_frames
from cinegen.provenance import ecc
from cinegen.provenance.payload import PAYLOAD_BITS, Payload

DEFAULT_KEY = "cinegen"
CELLS = 24  # cells per tile side
DETECT_TILE = 96  # the tile's side once resampled for reading: 4 px per cell
DETECT_SIDE = 540  # larger pictures are shrunk to this short side before looking
SYNC_SHARE = 0.25  # of the cells: the fixed synchronisation pattern
AMPLITUDE = 2.2  # RMS of the pattern, in 8-bit levels (before rounding)
PERIOD_FRACTION = 0.35  # the tile's side, as a fraction of the frame's short side
MIN_PERIOD = 3 * CELLS  # cells narrower than 3 px do not survive H.264
# Smaller frames are left unmarked: without two tiles across, the period cannot be found.
MIN_SIDE = 2 * MIN_PERIOD

CHIPS = ecc.coded_length(PAYLOAD_BITS)

# The synchronisation peak, in robust standard deviations of the correlation surface, from
# which a decoded payload is believed. On unmarked clips the best peak follows a Gumbel law
# of this location and scale (bench/watermark.py's null_score over 1,000 natural-looking
# and generated clips: mean 4.415, sd 0.334, best 5.77); marked ones score 8-12.
MIN_SCORE = 6.0
NULL_LOCATION, NULL_SCALE = 4.27, 0.26
# Autocorrelation peaks tried as the tile's period, best first; around each, the periods
# tried: (half-width, step) in pixels, coarse then fine around the best coarse one.
PERIOD_CANDIDATES = 3
PERIOD_SEARCH = ((1.5, 0.25), (0.2, 0.05))


# ---------------------------------------------------------------------------- the pattern


class _Layout(NamedTuple):
    signs: np.ndarray  # (CELLS*CELLS,) +-1: every cell's key sign
    is_sync: np.ndarray  # (CELLS*CELLS,) bool
    chip_of: np.ndarray  # (CELLS*CELLS,) the coded bit a data cell carries (-1: sync)


@functools.lru_cache(maxsize=4)
def _layout(key: str) -> _Layout:
    seed = int.from_bytes(hashlib.sha256(f"cinegen-watermark/{key}".encode()).digest()[:8], "big")
    rng = np.random.default_rng(seed)
    order = rng.permutation(CELLS * CELLS)
    n_sync = round(CELLS * CELLS * SYNC_SHARE)
    is_sync = np.zeros(CELLS * CELLS, bool)
    is_sync[order[:n_sync]] = True
    chip_of = np.full(CELLS * CELLS, -1)
    chip_of[order[n_sync:]] = np.arange(CELLS * CELLS - n_sync) % CHIPS
    signs = rng.choice(np.array([-1.0, 1.0]), CELLS * CELLS)
    for array in (is_sync, chip_of, signs):
        array.setflags(write=False)
    return _Layout(signs, is_sync, chip_of)


def _cell_values(payload: Payload, key: str) -> np.ndarray:
    layout = _layout(key)
    chips = ecc.encode(payload.bits()).astype(np.float64) * 2 - 1
    values = layout.signs.copy()
    data = ~layout.is_sync
    values[data] *= chips[layout.chip_of[data]]
    return values.reshape(CELLS, CELLS)


def _render(cells: np.ndarray, size: int) -> np.ndarray:
    """A CELLS x CELLS grid drawn band-limited on a size x size periodic tile, cell (i, j)
    centred on ((i + 0.5) * size / CELLS, (j + 0.5) * size / CELLS); RMS 1."""
    small, big, weight = _band(size)
    spectrum = np.fft.fft2(cells)
    wide = np.zeros((size, size), complex)
    np.add.at(wide, np.ix_(big, big), np.outer(weight, weight) * spectrum[np.ix_(small, small)])
    tile = _shift(np.fft.ifft2(wide).real, size / CELLS / 2)
    return tile / (tile.std() or 1.0)


def _read_cells(tile: np.ndarray) -> np.ndarray:
    """``_render``'s inverse: the cell values (up to one scale) of an aligned tile, from its
    lowest frequencies (least squares: the rest is noise)."""
    size = tile.shape[0]
    small, big, _ = _band(size)
    spectrum = np.fft.fft2(_shift(tile, -size / CELLS / 2))
    narrow = np.zeros((CELLS, CELLS), complex)
    np.add.at(narrow, np.ix_(small, small), spectrum[np.ix_(big, big)])
    return np.fft.ifft2(narrow).real


def _band(size: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Where each of the CELLS frequencies along one axis of the cell grid goes in a size
    spectrum, and with what weight: the lowest ones keep their place (negative ones counted
    from the end); the grid's Nyquist frequency is split in halves between +CELLS/2 and
    -CELLS/2, so that the drawn tile is real."""
    half = CELLS // 2
    small = np.r_[0:half, half + 1 : CELLS, half, half]
    big = np.r_[0:half, size - half + 1 : size, half, size - half]
    weight = np.r_[np.ones(CELLS - 1), 0.5, 0.5]
    return small, big, weight


def _shift(image: np.ndarray, by: float) -> np.ndarray:
    """``image`` moved down and right by ``by`` pixels (circularly, sub-pixel exact)."""
    h, w = image.shape
    phase = np.fft.fftfreq(h)[:, None] + np.fft.fftfreq(w)[None, :]
    return np.fft.ifft2(np.fft.fft2(image) * np.exp(-2j * np.pi * phase * by)).real


def can_mark(width: int, height: int) -> bool:
    """Whether a width x height frame is large enough to carry a mark that can be found."""
    return min(width, height) >= MIN_SIDE


def period_for(width: int, height: int) -> int:
    """The tile's side, in pixels, on a width x height frame."""
    return max(MIN_PERIOD, round(PERIOD_FRACTION * min(width, height)))


@functools.lru_cache(maxsize=8)
def pattern(width: int, height: int, payload: Payload, key: str = DEFAULT_KEY) -> np.ndarray:
    """The (height, width) int16 offsets added to every frame's R, G and B."""
    period = period_for(width, height)
    tile = _render(_cell_values(payload, key), period) * AMPLITUDE
    reps = (math.ceil(height / period), math.ceil(width / period))
    offsets = np.rint(np.tile(tile, reps)[:height, :width]).astype(np.int16)
    offsets.setflags(write=False)  # shared through the cache
    return offsets


def embed(
    frames: np.ndarray, payload: Payload, *, key: str = DEFAULT_KEY, inplace: bool = False
) -> np.ndarray:
    """Mark (F, H, W, 3) uint8 RGB ``frames``; a marked copy, or ``frames`` when inplace.
    Frames are shared out between the cores (numpy lets go of the GIL while it adds)."""
    check_frames(frames)
    if inplace and not frames.flags.writeable:
        raise ValueError("frames must be writeable for inplace=True, got a read-only array")
    n, height, width, _ = frames.shape
    offsets = pattern(width, height, payload, key)[..., None]
    out = frames if inplace else np.empty_like(frames)

    def work(start: int, stop: int) -> None:
        scratch = np.empty((height, width, 3), np.int16)  # one frame: memory stays small
        for i in range(start, stop):
            np.add(frames[i], offsets, out=scratch)
            np.clip(scratch, 0, 255, out=scratch)
            out[i] = scratch

    workers = max(1, min(n, os.cpu_count() or 1))
    bounds = np.linspace(0, n, workers + 1).astype(int)
    if workers == 1:
        work(0, n)
    else:
        with ThreadPoolExecutor(workers) as pool:
            list(pool.map(work, bounds[:-1], bounds[1:]))
    return out


# ---------------------------------------------------------------------------- detection


@dataclass(frozen=True)
class Detection:
    """What ``detect`` found. ``confidence`` is one minus the chance that the payload is
    noise (0 when there is none); ``score`` is the synchronisation peak that everything
    rests on (MIN_SCORE and up is believed); ``period`` is the tile's side in the pixels of
    the file read (None when no period stood out)."""

    detected: bool
    payload: Payload | None
    confidence: float
    score: float
    period: float | None

    def to_json(self) -> dict[str, Any]:
        return {
            "detected": self.detected,
            "payload": str(self.payload) if self.payload else None,
            "confidence": round(self.confidence, 6),
            "server": f"{self.payload.server:04x}" if self.payload else None,
            "score": round(self.score, 2),
        }


NOT_FOUND = Detection(False, None, 0.0, 0.0, None)


def detect(luma: np.ndarray, *, key: str = DEFAULT_KEY) -> Detection:
    """Look for a mark in a (H, W) luma picture: one frame, or better the mean of many."""
    if luma.ndim != 2 or min(luma.shape) < MIN_PERIOD // 2:
        return NOT_FOUND
    picture, scale = _shrink(np.asarray(luma, np.float64))
    residual = _whiten(picture)
    layout = _layout(key)
    sync = np.where(layout.is_sync, layout.signs, 0.0).reshape(CELLS, CELLS)
    reference = _render(sync, DETECT_TILE)
    best = NOT_FOUND
    for lag in _period_candidates(residual):
        score, offset, period, tile = _register(residual, lag, reference)
        message = None
        if score >= MIN_SCORE:
            message = ecc.decode(_soft_chips(_align(tile, offset), key), PAYLOAD_BITS)
        found = Detection(
            detected=message is not None,
            payload=None if message is None else Payload.from_bits(message),
            confidence=0.0 if message is None else _confidence(score),
            score=score,
            period=period / scale,
        )
        if found.detected:
            return found
        if found.score > best.score:
            best = found
    return best


def _shrink(luma: np.ndarray) -> tuple[np.ndarray, float]:
    """Large pictures brought down to a DETECT_SIDE short side (their cells are wide
    enough to survive it, and every later step gets cheaper), with the scale used."""
    h, w = luma.shape
    scale = DETECT_SIDE / min(h, w)
    if scale >= 1:
        return luma, 1.0
    size = (round(w * scale), round(h * scale))
    picture = Image.fromarray(luma.astype(np.float32), mode="F")
    return np.asarray(picture.resize(size, Image.Resampling.BOX), np.float64), size[1] / h


def _whiten(luma: np.ndarray) -> np.ndarray:
    """Every spatial frequency scaled to about equal power, keeping only the band the
    pattern can occupy: the picture's own 1/f spectrum then no longer hides it."""
    h, w = luma.shape
    spectrum = np.fft.fft2(luma - luma.mean())
    envelope = np.fft.ifftshift(_blur(np.fft.fftshift(np.abs(spectrum)), 3.0))
    radius = np.hypot(np.fft.fftfreq(h)[:, None], np.fft.fftfreq(w)[None, :])
    shortest = 0.25 * min(h, w)  # the smallest tile a scaled or cropped frame can show
    band = (radius > 1 / min(h, w)) & (radius < min(0.5, CELLS / (1.6 * shortest)))
    residual = np.fft.ifft2(spectrum / (envelope + 1e-9) * band).real
    return residual / (residual.std() or 1.0)


def _blur(image: np.ndarray, sigma: float) -> np.ndarray:
    h, w = image.shape
    radius2 = np.fft.fftfreq(h)[:, None] ** 2 + np.fft.fftfreq(w)[None, :] ** 2
    return np.fft.ifft2(np.fft.fft2(image) * np.exp(-2 * (np.pi * sigma) ** 2 * radius2)).real


def _period_candidates(residual: np.ndarray) -> list[int]:
    """The lags (pixels) at which the picture most resembles itself shifted sideways or
    down: a tiled pattern peaks at its period (and multiples)."""
    h, w = residual.shape
    padded = np.zeros((2 * h, 2 * w))
    padded[:h, :w] = residual
    power = np.abs(np.fft.rfft2(padded)) ** 2
    auto = np.fft.irfft2(power, s=padded.shape)
    lo, hi = max(MIN_PERIOD // 3, min(h, w) // 8), int(0.7 * min(h, w))
    if hi <= lo + 2:
        return []
    lags = np.arange(lo, hi)
    # Normalised by the overlap: a shift by `lag` compares (h - lag) * w pixels.
    profile = auto[0, lags] / (h * (w - lags)) + auto[lags, 0] / ((h - lags) * w)
    peaks = [
        i
        for i in range(1, len(lags) - 1)
        if profile[i] >= profile[i - 1] and profile[i] >= profile[i + 1]
    ]
    peaks.sort(key=lambda i: profile[i], reverse=True)
    return [int(lags[i]) for i in peaks[:PERIOD_CANDIDATES]]


def _register(
    residual: np.ndarray, lag: int, reference: np.ndarray
) -> tuple[float, tuple[int, int], float, np.ndarray]:
    """The period near ``lag`` at which the folded tile best matches the synchronisation
    pattern: (score, offset, period, tile). Coarse steps, then fine ones around the best."""
    best: tuple[float, tuple[int, int], float, np.ndarray] | None = None
    centre = float(lag)
    for span, step in PERIOD_SEARCH:
        for period in centre + _steps(span, step):
            tile = _fold(residual, period)
            score, offset = _correlate(tile, reference)
            if best is None or score > best[0]:
                best = (score, offset, period, tile)
        assert best is not None
        centre = best[2]
    assert best is not None
    return best


def _steps(span: float, step: float) -> np.ndarray:
    return np.arange(-span, span + step / 2, step)


def _fold(residual: np.ndarray, period: float) -> np.ndarray:
    """The picture resampled to a DETECT_TILE period and its tiles averaged into one."""
    h, w = residual.shape
    scale = DETECT_TILE / period
    size = (max(1, math.floor(w * scale)), max(1, math.floor(h * scale)))
    picture = Image.fromarray(residual.astype(np.float32), mode="F")
    box = (0.0, 0.0, size[0] / scale, size[1] / scale)  # the same scale on both axes
    scaled = np.asarray(picture.resize(size, Image.Resampling.BICUBIC, box), np.float64)
    total = np.zeros((DETECT_TILE, DETECT_TILE))
    count = np.zeros((DETECT_TILE, DETECT_TILE))
    for y in range(0, scaled.shape[0], DETECT_TILE):
        for x in range(0, scaled.shape[1], DETECT_TILE):
            block = scaled[y : y + DETECT_TILE, x : x + DETECT_TILE]
            total[: block.shape[0], : block.shape[1]] += block
            count[: block.shape[0], : block.shape[1]] += 1
    return total / np.maximum(count, 1)


def _correlate(tile: np.ndarray, reference: np.ndarray) -> tuple[float, tuple[int, int]]:
    """The circular cross-correlation's peak: (robust z-score, offset of the tile)."""
    surface = np.fft.ifft2(np.fft.fft2(tile) * np.conj(np.fft.fft2(reference))).real
    dy, dx = np.unravel_index(int(np.argmax(surface)), surface.shape)
    median = np.median(surface)
    spread = 1.4826 * np.median(np.abs(surface - median)) or 1.0
    return float((surface[dy, dx] - median) / spread), (int(dy), int(dx))


def _align(tile: np.ndarray, offset: tuple[int, int]) -> np.ndarray:
    return np.roll(tile, (-offset[0], -offset[1]), axis=(0, 1))


def _soft_chips(tile: np.ndarray, key: str) -> np.ndarray:
    """One soft value per coded bit (>0 for 1): the sum of its cells, signs undone."""
    layout = _layout(key)
    values = _read_cells(tile).ravel() * layout.signs
    data = ~layout.is_sync
    soft = np.zeros(CHIPS)
    np.add.at(soft, layout.chip_of[data], values[data])
    return soft


def _confidence(score: float) -> float:
    """One minus the chance that a decoded payload is noise: that an unmarked picture
    shows a synchronisation peak of ``score`` (the best peak of unmarked clips follows a
    Gumbel law, NULL_LOCATION and NULL_SCALE) and that its bits then pass the CRC."""
    unmarked = -math.expm1(-math.exp(-(score - NULL_LOCATION) / NULL_SCALE))
    return 1.0 - unmarked * 2.0**-ecc.CRC_BITS
