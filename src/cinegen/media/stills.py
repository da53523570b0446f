"""Stills from a clip: a lossless PNG frame, a WebP thumbnail and a JPEG spritesheet."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
from PIL import Image

from cinegen.media.atomic import atomic_path
from cinegen.media.encode import check_frames

# Quality 80-85 is where WebP/JPEG artefacts stop being visible at thumbnail sizes while
# files stay a few tens of KB.
_WEBP_QUALITY = 82
_JPEG_QUALITY = 85
# A spritesheet's tiles and grid width: 16 frames in 4 rows of 4 (the studio's library
# scrubs through them; ``spritesheet_grid`` says which frame each tile shows).
SPRITESHEET_TILES = 16
SPRITESHEET_COLUMNS = 4


def _check_frame(frame: np.ndarray) -> None:
    if not isinstance(frame, np.ndarray):
        raise ValueError(f"frame must be a numpy array, got {type(frame).__name__}")
    if frame.ndim != 3 or frame.shape[2] != 3:
        raise ValueError(f"frame must be (H, W, 3) RGB, got shape {frame.shape}")
    if frame.dtype != np.uint8:
        raise ValueError(f"frame must be uint8, got {frame.dtype}")


def _save(image: Image.Image, path: Path, image_format: str, **params: object) -> Path:
    path = Path(path)
    with atomic_path(path) as tmp:
        image.save(tmp, format=image_format, **params)
    return path


def write_png(frame: np.ndarray, path: Path) -> Path:
    """Write one (H, W, 3) uint8 RGB frame as a lossless PNG."""
    _check_frame(frame)
    return _save(Image.fromarray(frame), path, "PNG")


def _fit(width: int, height: int, max_side: int) -> tuple[int, int]:
    # Downscale only: upscaling a thumbnail adds bytes and blur, never detail.
    scale = min(1.0, max_side / max(width, height))
    return max(1, round(width * scale)), max(1, round(height * scale))


def write_thumbnail(frames: np.ndarray, path: Path, *, max_side: int = 640) -> Path:
    """Write the middle frame as a WebP no larger than ``max_side`` on its longer side."""
    check_frames(frames)
    if max_side < 1:
        raise ValueError(f"max_side must be >= 1, got {max_side}")
    frame = frames[frames.shape[0] // 2]
    image = Image.fromarray(frame)
    size = _fit(image.width, image.height, max_side)
    if size != image.size:
        # reducing_gap pre-shrinks with a box filter first: same look, several times faster
        # from 1080p.
        image = image.resize(size, Image.Resampling.LANCZOS, reducing_gap=3.0)
    return _save(image, path, "WEBP", quality=_WEBP_QUALITY, method=4)


def spritesheet_frame_indices(n_frames: int, tiles: int) -> list[int]:
    """The frames a spritesheet of ``tiles`` tiles shows: evenly spaced, ends included.

    ``min(tiles, n_frames)`` indices, strictly increasing, starting at 0 and ending at
    ``n_frames - 1`` when more than one tile is shown; a single tile shows the middle frame.
    """
    if n_frames < 1:
        raise ValueError(f"n_frames must be >= 1, got {n_frames}")
    if tiles < 1:
        raise ValueError(f"tiles must be >= 1, got {tiles}")
    n = min(tiles, n_frames)
    if n == 1:
        return [n_frames // 2]
    # Integer round-half-up of i * (F-1) / (n-1); the step is >= 1, so no index repeats.
    return [(i * (n_frames - 1) + (n - 1) // 2) // (n - 1) for i in range(n)]


def spritesheet_grid(
    n_frames: int, *, tiles: int = SPRITESHEET_TILES, columns: int = SPRITESHEET_COLUMNS
) -> tuple[list[int], int, int]:
    """(frame shown by each tile, columns, rows) of a spritesheet of a clip of ``n_frames``:
    ``min(columns, n)`` tiles wide and ``ceil(n / columns)`` tall for its n tiles."""
    if columns < 1:
        raise ValueError(f"columns must be >= 1, got {columns}")
    indices = spritesheet_frame_indices(n_frames, tiles)
    return indices, min(columns, len(indices)), math.ceil(len(indices) / columns)


def write_spritesheet(
    frames: np.ndarray,
    path: Path,
    *,
    tiles: int = SPRITESHEET_TILES,
    columns: int = SPRITESHEET_COLUMNS,
    tile_size: int = 240,
) -> Path:
    """Write a JPEG grid of evenly spaced frames, read left to right, top to bottom.

    Tile i shows frame ``spritesheet_frame_indices(F, tiles)[i]``, scaled to fit a
    ``tile_size`` square with the clip's aspect ratio (so portrait clips stay small too).
    The grid is ``min(columns, n)`` tiles wide and
    ``ceil(n / columns)`` tall; unused cells in the last row are black.
    """
    check_frames(frames)
    if tile_size < 1:
        raise ValueError(f"tile_size must be >= 1, got {tile_size}")
    indices, cols, rows = spritesheet_grid(frames.shape[0], tiles=tiles, columns=columns)
    _, height, width, _ = frames.shape
    scale = tile_size / max(width, height)
    tile_width, tile_height = max(1, round(width * scale)), max(1, round(height * scale))

    sheet = Image.new("RGB", (cols * tile_width, rows * tile_height))
    for k, index in enumerate(indices):
        tile = Image.fromarray(frames[index])
        tile = tile.resize((tile_width, tile_height), Image.Resampling.LANCZOS, reducing_gap=3.0)
        row, col = divmod(k, columns)
        sheet.paste(tile, (col * tile_width, row * tile_height))
    return _save(sheet, path, "JPEG", quality=_JPEG_QUALITY, optimize=True)
