"""The visible watermark: a small text or logo mark in the bottom-right corner of every frame.

The invisible, detectable mark is a different concern and lives elsewhere.
"""

from __future__ import annotations

import functools
import math
import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

import numpy as np
from PIL import Image, ImageDraw, ImageFont, UnidentifiedImageError

from cinegen.media.encode import check_frames

# Below ~10 px the default font's glyphs merge into a smudge.
MIN_MARK_HEIGHT = 10

# Bytes of frames per work item: small enough to share the copy evenly between cores and
# bound scratch memory, large enough that per-item Python overhead stays negligible.
_CHUNK_BYTES = 32 << 20


@dataclass(frozen=True)
class VisibleMark:
    """A text (or logo) mark blended into the bottom-right corner of each frame.

    ``height_fraction`` and ``margin_fraction`` are fractions of the frame height, so the
    mark keeps the same look from 64x64 to 1920x1080. A ``logo`` (PNG with alpha) replaces
    the text. The rendered patch is cached per frame size; a logo file edited on disk after
    first use is not re-read.
    """

    text: str = "cinegen"
    logo: Path | None = None
    opacity: float = 0.6
    height_fraction: float = 0.045
    margin_fraction: float = 0.02

    def __post_init__(self) -> None:
        if not 0.0 < self.opacity <= 1.0:  # also rejects NaN
            raise ValueError(f"opacity must be in (0, 1], got {self.opacity}")
        if not 0.0 < self.height_fraction <= 1.0:
            raise ValueError(f"height_fraction must be in (0, 1], got {self.height_fraction}")
        if not 0.0 <= self.margin_fraction < 0.5:
            raise ValueError(f"margin_fraction must be in [0, 0.5), got {self.margin_fraction}")
        if self.logo is None:
            if not self.text.strip():
                raise ValueError(f"text must be non-empty when no logo is given, got {self.text!r}")
            return
        logo = Path(self.logo)
        object.__setattr__(self, "logo", logo)  # accept str; frozen needs the back door
        if not logo.is_file():
            raise ValueError(f"logo must be an existing image file, got {str(logo)!r}")
        try:
            with Image.open(logo) as image:
                image.verify()
        except (UnidentifiedImageError, OSError) as exc:
            raise ValueError(f"logo must be a readable image (PNG), got {str(logo)!r}") from exc

    def mark_box(self, width: int, height: int) -> tuple[int, int, int, int]:
        """(x0, y0, x1, y1), end-exclusive: the only pixels ``apply`` may change."""
        patch = _patch(self, width, height)
        h, w = patch.inv_alpha.shape[:2]
        return patch.x0, patch.y0, patch.x0 + w, patch.y0 + h

    def apply(self, frames: np.ndarray, *, inplace: bool = False) -> np.ndarray:
        """Blend the mark into every frame of (F, H, W, 3) uint8 RGB ``frames``.

        Returns a marked copy, or ``frames`` itself modified when ``inplace`` is true.
        Pixels outside ``mark_box`` are left bit-identical.
        """
        check_frames(frames)
        if inplace and not frames.flags.writeable:
            raise ValueError("frames must be writeable for inplace=True, got a read-only array")
        n, height, width, _ = frames.shape
        patch = _patch(self, width, height)
        out = frames if inplace else np.empty_like(frames)
        per_chunk = max(1, _CHUNK_BYTES // frames[0].nbytes)

        def work(start: int) -> None:
            stop = start + per_chunk
            if not inplace:
                np.copyto(out[start:stop], frames[start:stop])
            _blend(out[start:stop], patch)

        starts = range(0, n, per_chunk)
        workers = min(len(starts), os.cpu_count() or 1)
        if workers <= 1:
            for start in starts:
                work(start)
        else:
            # Copying the clip, not blending, is the real cost: filling a fresh 1.9 GB output
            # (10 s of 1080p) is mostly page faults. numpy releases the GIL while copying, so
            # idle cores share it (about 2x on 2 idle cores here; nothing when they are busy).
            with ThreadPoolExecutor(workers) as pool:
                list(pool.map(work, starts))
        return out


def mark_box(width: int, height: int, mark: VisibleMark | None = None) -> tuple[int, int, int, int]:
    """Where ``mark`` (default: ``VisibleMark()``) lies on a width x height frame."""
    return (mark or VisibleMark()).mark_box(width, height)


def _blend(frames: np.ndarray, patch: _Patch) -> None:
    h, w = patch.inv_alpha.shape[:2]
    region = frames[:, patch.y0 : patch.y0 + h, patch.x0 : patch.x0 + w]
    # src*(255-a) + rgb*a + 127 <= 65152, so uint16 never overflows; the 127 (folded into
    # premult) makes // 255 round to nearest instead of down.
    blended = region.astype(np.uint16) * patch.inv_alpha + patch.premult
    region[...] = blended // 255


class _Patch(NamedTuple):
    x0: int
    y0: int
    premult: np.ndarray  # (h, w, 3) uint16: rgb * alpha + 127
    inv_alpha: np.ndarray  # (h, w, 1) uint16: 255 - alpha


@functools.lru_cache(maxsize=32)
def _patch(mark: VisibleMark, width: int, height: int) -> _Patch:
    # Rendering text costs milliseconds; blending a clip must not pay it per frame.
    if width < 1 or height < 1:
        raise ValueError(f"frame size must be at least 1x1, got {width}x{height}")
    margin = round(mark.margin_fraction * height)
    if min(width, height) - 2 * margin < 1:
        margin = 0
    target = min(height - 2 * margin, max(MIN_MARK_HEIGHT, round(mark.height_fraction * height)))
    rgba = _render_logo(mark.logo, target) if mark.logo else _render_text(mark.text, target)
    rgba = _fit_within(rgba, width - 2 * margin, height - 2 * margin)

    pixels = np.asarray(rgba, dtype=np.uint16)  # (h, w, 4)
    alpha = np.rint(pixels[..., 3:4] * mark.opacity).astype(np.uint16)
    premult = pixels[..., :3] * alpha + 127
    inv_alpha = 255 - alpha
    premult.setflags(write=False)  # shared by every caller through the cache
    inv_alpha.setflags(write=False)
    h, w = alpha.shape[:2]
    return _Patch(width - margin - w, height - margin - h, premult, inv_alpha)


def _render_text(text: str, target_height: int) -> Image.Image:
    """White text with a dark outline, cropped to its ink, about ``target_height`` tall."""
    size = target_height
    for _ in range(3):
        font = ImageFont.load_default(size=size)
        stroke = max(1, round(size / 12))
        # Typed as floats (a basic-layout font may return fractions); ink spans whole pixels.
        x0, y0, x1, y1 = font.getbbox(text, stroke_width=stroke)
        left, top, right, bottom = math.floor(x0), math.floor(y0), math.ceil(x1), math.ceil(y1)
        if bottom - top == target_height:
            break
        # Glyph ink is smaller than the em size; rescale once or twice to hit the target.
        size = max(1, round(size * target_height / max(1, bottom - top)))
    box = (right - left, bottom - top)
    origin = (-left, -top)
    # Drawn as two masks rather than straight onto RGBA: Pillow blends ink into RGBA
    # including the alpha channel, which darkens anti-aliased edges twice.
    coverage = Image.new("L", box)
    ImageDraw.Draw(coverage).text(
        origin, text, font=font, fill=255, stroke_width=stroke, stroke_fill=255
    )
    fill = Image.new("L", box)
    ImageDraw.Draw(fill).text(origin, text, font=font, fill=255)
    # Where the stroke covers, colour is the fill mask: white glyphs, black outline, and
    # grey where the glyph edge meets the outline.
    rgba = Image.merge("RGBA", (fill, fill, fill, coverage))
    bbox = coverage.getbbox()
    if bbox is not None:
        rgba = rgba.crop(bbox)
    # Pillow builds without FreeType get a fixed-size bitmap font; scale it instead.
    if abs(rgba.height - target_height) > max(2, target_height // 6):
        rgba = _resize(rgba, target_height)
    return rgba


def _render_logo(logo: Path, target_height: int) -> Image.Image:
    with Image.open(logo) as image:
        rgba = image.convert("RGBA")
    bbox = rgba.getchannel("A").getbbox()
    if bbox is not None:
        rgba = rgba.crop(bbox)
    return _resize(rgba, target_height)


def _resize(rgba: Image.Image, target_height: int) -> Image.Image:
    width = max(1, round(rgba.width * target_height / rgba.height))
    return rgba.resize((width, target_height), Image.Resampling.LANCZOS)


def _fit_within(rgba: Image.Image, max_width: int, max_height: int) -> Image.Image:
    # A long text on a narrow frame would otherwise run off the left edge.
    scale = min(1.0, max_width / rgba.width, max_height / rgba.height)
    if scale >= 1.0:
        return rgba
    size = (max(1, math.floor(rgba.width * scale)), max(1, math.floor(rgba.height * scale)))
    return rgba.resize(size, Image.Resampling.LANCZOS)
