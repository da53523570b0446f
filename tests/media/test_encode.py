from __future__ import annotations

import struct
from fractions import Fraction
from pathlib import Path
from typing import Any

import av
import numpy as np
import pytest

from cinegen.media import encode
from cinegen.media.encode import encode_mp4, is_faststart, probe, read_frames

from .conftest import gradient_clip


@pytest.mark.parametrize("fps", [24, 30, 12.5, Fraction(24000, 1001)])
def test_plays_back_with_exact_size_count_and_rate(tmp_path: Path, fps: float) -> None:
    frames = gradient_clip(13, 64, 48)
    out = encode_mp4(frames, tmp_path / "clip.mp4", fps)

    with av.open(str(out)) as container:
        stream = container.streams.video[0]
        assert stream.frames == 13
        assert stream.average_rate == Fraction(fps)
        assert sum(1 for _ in container.decode(stream)) == 13
    info = probe(out)
    assert (info.width, info.height, info.n_frames) == (64, 48, 13)
    assert info.fps == pytest.approx(float(fps), abs=1e-9)
    assert info.duration_s == pytest.approx(13 / float(fps), abs=1e-3)
    assert (info.codec, info.pix_fmt) == ("h264", "yuv420p")


def test_decimal_ntsc_rate_means_24000_over_1001(tmp_path: Path, clip: np.ndarray) -> None:
    info = probe(encode_mp4(clip, tmp_path / "clip.mp4", 23.976))
    assert info.fps == pytest.approx(24000 / 1001, abs=1e-9)


def test_moov_comes_first(tmp_path: Path, clip: np.ndarray) -> None:
    assert is_faststart(encode_mp4(clip, tmp_path / "clip.mp4", 24))


def test_plain_mp4_is_not_faststart(tmp_path: Path, clip: np.ndarray) -> None:
    path = tmp_path / "plain.mp4"
    with av.open(str(path), "w") as container:
        stream = container.add_stream("libx264", rate=24)
        stream.width, stream.height, stream.pix_fmt = 64, 48, "yuv420p"
        for frame in clip:
            container.mux(stream.encode(av.VideoFrame.from_ndarray(frame, format="rgb24")))
        container.mux(stream.encode(None))
    assert not is_faststart(path)


def _box(kind: bytes, payload: bytes, *, large: bool = False) -> bytes:
    if large:
        return struct.pack(">I4sQ", 1, kind, 16 + len(payload)) + payload
    return struct.pack(">I4s", 8 + len(payload), kind) + payload


def test_faststart_parser_follows_64_bit_box_sizes(tmp_path: Path) -> None:
    path = tmp_path / "boxes.mp4"
    path.write_bytes(
        _box(b"ftyp", b"isom") + _box(b"free", b"\0" * 40, large=True) + _box(b"moov", b"")
        + _box(b"mdat", b"\0" * 8)
    )  # fmt: skip
    assert is_faststart(path)
    path.write_bytes(
        _box(b"ftyp", b"isom") + _box(b"mdat", b"\0" * 64, large=True) + _box(b"moov", b"")
    )
    assert not is_faststart(path)


def test_decoded_pixels_match_input(tmp_path: Path) -> None:
    frames = gradient_clip(10, 160, 90)
    decoded = read_frames(encode_mp4(frames, tmp_path / "clip.mp4", 30))
    assert decoded.shape == frames.shape
    assert decoded.dtype == np.uint8
    assert np.abs(decoded.astype(np.int16) - frames).mean() < 6


def test_saturated_colours_keep_their_hue(tmp_path: Path) -> None:
    # Catches a matrix mismatch (BT.601 written, BT.709 tagged): reds turn orange/pink.
    frames = np.zeros((3, 48, 64, 3), dtype=np.uint8)
    frames[:, :, :32] = (220, 30, 40)
    frames[:, :, 32:] = (30, 60, 210)
    decoded = read_frames(encode_mp4(frames, tmp_path / "clip.mp4", 24)).astype(np.int16)
    assert np.abs(decoded[:, 8:40, 4:28] - (220, 30, 40)).max() <= 6
    assert np.abs(decoded[:, 8:40, 36:60] - (30, 60, 210)).max() <= 6


@pytest.mark.parametrize(
    ("shape", "dtype", "words"),
    [
        ((4, 48, 63, 3), np.uint8, ("width", "63")),
        ((4, 47, 64, 3), np.uint8, ("height", "47")),
        ((4, 48, 64, 4), np.uint8, ("channels", "4")),
        ((48, 64, 3), np.uint8, ("4-D", "(48, 64, 3)")),
        ((0, 48, 64, 3), np.uint8, ("at least 1 frame", "0")),
        ((4, 48, 64, 3), np.float32, ("uint8", "float32")),
    ],
)
def test_bad_frames_are_refused_with_a_clear_message(
    tmp_path: Path, shape: tuple[int, ...], dtype: type, words: tuple[str, ...]
) -> None:
    with pytest.raises(ValueError) as excinfo:
        encode_mp4(np.zeros(shape, dtype=dtype), tmp_path / "clip.mp4", 24)
    for word in words:
        assert word in str(excinfo.value)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(("kwargs", "word"), [({"crf": 60}, "crf"), ({"preset": "warp"}, "preset")])
def test_bad_settings_are_refused(
    tmp_path: Path, clip: np.ndarray, kwargs: dict[str, Any], word: str
) -> None:
    with pytest.raises(ValueError, match=word):
        encode_mp4(clip, tmp_path / "clip.mp4", 24, **kwargs)


@pytest.mark.parametrize("fps", [0, -1, float("nan")])
def test_bad_fps_is_refused(tmp_path: Path, clip: np.ndarray, fps: float) -> None:
    with pytest.raises(ValueError, match="fps"):
        encode_mp4(clip, tmp_path / "clip.mp4", fps)


def test_on_frame_reports_progress_to_total(tmp_path: Path, clip: np.ndarray) -> None:
    calls: list[tuple[int, int]] = []
    encode_mp4(clip, tmp_path / "clip.mp4", 24, on_frame=lambda i, n: calls.append((i, n)))
    assert calls == [(i, 12) for i in range(1, 13)]


def test_failure_midway_leaves_no_file(tmp_path: Path, clip: np.ndarray) -> None:
    def explode(i: int, total: int) -> None:
        if i == 5:
            raise KeyboardInterrupt  # a user's Ctrl-C mid-encode

    with pytest.raises(KeyboardInterrupt):
        encode_mp4(clip, tmp_path / "clip.mp4", 24, on_frame=explode)
    assert list(tmp_path.iterdir()) == []


def test_failed_reencode_keeps_the_previous_file(tmp_path: Path, clip: np.ndarray) -> None:
    out = encode_mp4(clip, tmp_path / "clip.mp4", 24)
    before = out.read_bytes()

    def explode(i: int, total: int) -> None:
        raise RuntimeError("disk full")

    with pytest.raises(RuntimeError):
        encode_mp4(clip[:4], out, 24, on_frame=explode)
    assert out.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["clip.mp4"]


def test_single_frame_clip(tmp_path: Path, clip: np.ndarray) -> None:
    assert probe(encode_mp4(clip[:1], tmp_path / "one.mp4", 24)).n_frames == 1


def test_missing_libx264_warns_and_falls_back_to_mpeg4(
    tmp_path: Path, clip: np.ndarray, monkeypatch: pytest.MonkeyPatch
) -> None:
    with pytest.warns(RuntimeWarning, match=r"av==18\.1"):
        assert encode._choose_encoder({"mpeg4", "aac"}) == "mpeg4"
    monkeypatch.setattr(encode, "ENCODER", "mpeg4")
    info = probe(encode_mp4(clip, tmp_path / "clip.mp4", 24))
    assert (info.codec, info.n_frames, info.width) == ("mpeg4", 12, 64)


def test_this_install_has_libx264() -> None:
    assert encode.ENCODER == "libx264"


def test_the_same_frames_encode_to_the_same_file_whatever_ran_before(tmp_path: Path) -> None:
    """Without the reproducible kernel set, x264's AVX-512 kernels read memory left by what
    the process decoded before, and the bytes drift from encode to encode."""
    frames = gradient_clip(32, 320, 180)
    frames[:, 60:120, ::7] = 255  # edges, so that motion search and B-frames have work
    streams = set()
    for i in range(8):
        video = encode_mp4(frames, tmp_path / f"{i}.mp4", 16, crf=12, preset="veryfast")
        read_frames(video)  # what ran before: a decode, whose freed buffers x264 reuses
        with av.open(str(video)) as container:
            packets = container.demux(container.streams.video[0])
            streams.add(b"".join(bytes(p) for p in packets if p.size))
    assert len(streams) == 1
