from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image, ImageDraw

from cinegen.media import watermark
from cinegen.media.watermark import VisibleMark, mark_box


def random_clip(n: int, width: int, height: int) -> np.ndarray:
    return np.random.default_rng(1).integers(0, 256, (n, height, width, 3), dtype=np.uint8)


def outside(frames: np.ndarray, box: tuple[int, int, int, int]) -> np.ndarray:
    x0, y0, x1, y1 = box
    masked = frames.copy()
    masked[:, y0:y1, x0:x1] = 0
    return masked


@pytest.mark.parametrize(("width", "height"), [(64, 64), (160, 90), (1920, 1080)])
def test_mark_changes_only_its_box_on_every_frame(width: int, height: int) -> None:
    frames = random_clip(3 if width < 1000 else 1, width, height)
    before = frames.copy()
    mark = VisibleMark()
    marked = mark.apply(frames)
    box = mark.mark_box(width, height)
    x0, y0, x1, y1 = box

    assert np.array_equal(frames, before), "apply must not touch its input by default"
    assert np.array_equal(outside(marked, box), outside(frames, box))
    changed = (marked[:, y0:y1, x0:x1] != frames[:, y0:y1, x0:x1]).any(axis=-1)
    assert (changed.mean(axis=(1, 2)) > 0.2).all(), "every frame must carry the mark"


@pytest.mark.parametrize(("width", "height"), [(64, 64), (160, 90), (1920, 1080)])
def test_mark_sits_in_bottom_right_and_scales_with_height(width: int, height: int) -> None:
    x0, y0, x1, y1 = mark_box(width, height)
    assert 0 <= x0 < x1 <= width and 0 <= y0 < y1 <= height
    assert x0 >= width // 3 and y0 >= height // 2
    assert y1 - y0 >= 8
    assert y1 - y0 == pytest.approx(max(10, 0.045 * height), rel=0.35)


@pytest.mark.parametrize("level", [0, 255])
@pytest.mark.parametrize(("width", "height"), [(64, 64), (1920, 1080)])
def test_mark_reads_on_black_and_on_white(level: int, width: int, height: int) -> None:
    frames = np.full((1, height, width, 3), level, dtype=np.uint8)
    x0, y0, x1, y1 = mark_box(width, height)
    patch = VisibleMark().apply(frames)[0, y0:y1, x0:x1].astype(np.int16)
    # White glyphs show on black; the dark outline shows on white.
    contrast = np.abs(patch - level).max(axis=-1)
    assert contrast.max() >= 100
    assert (contrast >= 50).mean() > 0.1


def test_inplace_modifies_and_returns_the_same_array() -> None:
    frames = random_clip(2, 160, 90)
    before = frames.copy()
    out = VisibleMark().apply(frames, inplace=True)
    assert out is frames
    assert not np.array_equal(frames, before)


def test_inplace_refuses_read_only_frames() -> None:
    frames = random_clip(1, 160, 90)
    frames.setflags(write=False)
    with pytest.raises(ValueError, match="writeable"):
        VisibleMark().apply(frames, inplace=True)


def test_lower_opacity_is_fainter() -> None:
    frames = np.zeros((1, 360, 640, 3), dtype=np.uint8)
    assert VisibleMark(opacity=1.0).apply(frames).max() == 255
    assert VisibleMark(opacity=0.3).apply(frames).max() == pytest.approx(0.3 * 255, abs=2)


def test_logo_replaces_text(tmp_path: Path) -> None:
    logo = tmp_path / "logo.png"
    image = Image.new("RGBA", (80, 40), (0, 0, 0, 0))
    ImageDraw.Draw(image).rectangle((0, 0, 79, 39), fill=(255, 0, 0, 255))
    image.save(logo)
    mark = VisibleMark(logo=logo, opacity=1.0)
    frames = np.zeros((2, 360, 640, 3), dtype=np.uint8)
    x0, y0, x1, y1 = mark.mark_box(640, 360)
    assert (x1 - x0) == pytest.approx(2 * (y1 - y0), abs=1)  # logo aspect kept
    marked = mark.apply(frames)
    centre = marked[:, (y0 + y1) // 2, (x0 + x1) // 2]
    assert (centre == (255, 0, 0)).all()
    assert np.array_equal(outside(marked, (x0, y0, x1, y1)), frames)


@pytest.mark.parametrize("opacity", [0.0, -0.1, 1.5, float("nan")])
def test_bad_opacity_is_refused(opacity: float) -> None:
    with pytest.raises(ValueError, match="opacity"):
        VisibleMark(opacity=opacity)


def test_missing_or_broken_logo_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="logo"):
        VisibleMark(logo=tmp_path / "nope.png")
    broken = tmp_path / "broken.png"
    broken.write_bytes(b"not a png")
    with pytest.raises(ValueError, match="logo"):
        VisibleMark(logo=broken)


@pytest.mark.parametrize(
    ("kwargs", "word"),
    [({"text": "  "}, "text"), ({"height_fraction": 0.0}, "height_fraction"),
     ({"margin_fraction": 0.6}, "margin_fraction")],
)  # fmt: skip
def test_other_bad_fields_are_named(kwargs: dict[str, Any], word: str) -> None:
    with pytest.raises(ValueError, match=word):
        VisibleMark(**kwargs)


def test_long_text_is_shrunk_to_fit_a_small_frame() -> None:
    mark = VisibleMark(text="a rather long watermark text")
    x0, y0, x1, y1 = mark.mark_box(64, 48)
    assert 0 <= x0 < x1 <= 64 and 0 <= y0 < y1 <= 48


@pytest.mark.parametrize("inplace", [False, True])
def test_clip_split_across_threads_matches_one_piece(
    monkeypatch: pytest.MonkeyPatch, inplace: bool
) -> None:
    frames = random_clip(7, 160, 90)
    whole = VisibleMark().apply(frames)
    monkeypatch.setattr(watermark, "_CHUNK_BYTES", 1)  # one frame per work item
    pieces = VisibleMark().apply(frames.copy() if inplace else frames, inplace=inplace)
    assert np.array_equal(pieces, whole)
