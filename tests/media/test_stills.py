from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from cinegen.media.stills import (
    spritesheet_frame_indices,
    write_png,
    write_spritesheet,
    write_thumbnail,
)


def indexed_clip(n: int, width: int, height: int) -> np.ndarray:
    """Frame k is a flat colour that identifies k."""
    frames = np.empty((n, height, width, 3), dtype=np.uint8)
    for k in range(n):
        frames[k] = (k * 6, 255 - k * 6, 128)
    return frames


def which_frame(colour: np.ndarray, n: int) -> int:
    palette = indexed_clip(n, 1, 1)[:, 0, 0].astype(np.int16)
    return int(np.abs(palette - colour.astype(np.int16)).sum(axis=1).argmin())


def test_png_roundtrip_is_exact(tmp_path: Path) -> None:
    frame = np.random.default_rng(0).integers(0, 256, (45, 80, 3), dtype=np.uint8)
    out = write_png(frame, tmp_path / "still.png")
    with Image.open(out) as image:
        assert image.format == "PNG"
        assert np.array_equal(np.asarray(image.convert("RGB")), frame)


def test_png_refuses_a_clip(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="frame"):
        write_png(np.zeros((2, 8, 8, 3), np.uint8), tmp_path / "still.png")


@pytest.mark.parametrize(
    ("width", "height", "expected"),
    [(1280, 720, (640, 360)), (480, 1000, (307, 640)), (160, 90, (160, 90))],
)
def test_thumbnail_is_webp_of_middle_frame_downscaled_only(
    tmp_path: Path, width: int, height: int, expected: tuple[int, int]
) -> None:
    frames = indexed_clip(5, width, height)
    out = write_thumbnail(frames, tmp_path / "thumb.webp")
    data = out.read_bytes()
    assert data[:4] == b"RIFF" and data[8:12] == b"WEBP"
    with Image.open(out) as image:
        assert image.format == "WEBP"
        assert image.size == expected
        centre = np.asarray(image.convert("RGB"))[expected[1] // 2, expected[0] // 2]
    assert which_frame(centre, 5) == 2


def test_thumbnail_respects_max_side(tmp_path: Path) -> None:
    out = write_thumbnail(indexed_clip(1, 400, 200), tmp_path / "t.webp", max_side=100)
    with Image.open(out) as image:
        assert image.size == (100, 50)


def test_spritesheet_indices_span_the_clip_evenly() -> None:
    indices = spritesheet_frame_indices(300, 16)
    assert len(indices) == 16
    assert (indices[0], indices[-1]) == (0, 299)
    steps = np.diff(indices)
    assert steps.min() >= 1 and steps.max() - steps.min() <= 1
    assert spritesheet_frame_indices(3, 16) == [0, 1, 2]
    assert spritesheet_frame_indices(2, 2) == [0, 1]
    assert spritesheet_frame_indices(9, 1) == [4]


def test_spritesheet_grid_shows_the_listed_frames(tmp_path: Path) -> None:
    frames = indexed_clip(40, 64, 48)
    out = write_spritesheet(frames, tmp_path / "sheet.jpg", tiles=16, columns=4, tile_size=60)
    assert out.read_bytes()[:3] == b"\xff\xd8\xff"
    with Image.open(out) as image:
        assert image.format == "JPEG"
        assert image.size == (4 * 60, 4 * 45)
        sheet = np.asarray(image.convert("RGB"))
    expected = spritesheet_frame_indices(40, 16)
    shown = [which_frame(sheet[r * 45 + 22, c * 60 + 30], 40) for r in range(4) for c in range(4)]
    assert shown == expected


def test_spritesheet_with_fewer_frames_than_tiles(tmp_path: Path) -> None:
    frames = indexed_clip(6, 64, 48)
    out = write_spritesheet(frames, tmp_path / "sheet.jpg", tiles=16, columns=4, tile_size=32)
    with Image.open(out) as image:
        assert image.size == (4 * 32, 2 * 24)
        sheet = np.asarray(image.convert("RGB"))
    assert which_frame(sheet[24 + 12, 32 + 16], 6) == 5
    assert sheet[24 + 12, 2 * 32 + 16].max() < 16  # unused cell stays black


def test_stills_leave_no_temp_files(tmp_path: Path) -> None:
    frames = indexed_clip(4, 64, 48)
    write_png(frames[0], tmp_path / "a.png")
    write_thumbnail(frames, tmp_path / "b.webp")
    write_spritesheet(frames, tmp_path / "c.jpg")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.png", "b.webp", "c.jpg"]
