"""The invisible watermark: 48 bits that an upload site's re-encoding, scaling, cropping
and cutting do not remove, found in no unmarked video. Each attack of bench/watermark.py
on one clip, smaller than the bench's set."""

from __future__ import annotations

import json

import av
import numpy as np
import pytest
from PIL import Image

from cinegen.config import Settings
from cinegen.engine.engine import Engine
from cinegen.generation import generate
from cinegen.media.encode import encode_mp4, read_frames
from cinegen.media.synthetic import natural_clip
from cinegen.provenance import ecc
from cinegen.provenance.identity import load_identity
from cinegen.provenance.invisible_watermark import (
    CELLS,
    _read_cells,
    _render,
    detect,
    embed,
)
from cinegen.provenance.invisible_watermark_files import detect_file, mean_luma
from cinegen.provenance.payload import PAYLOAD_BITS, Payload, server_mark, task_mark
from cinegen.spec import parse_spec

pytestmark = pytest.mark.slow  # marks and reads whole videos

PAYLOAD = Payload(server=0xBEEF, task=0x12345678)
FPS = 24
WIDTH, HEIGHT = 640, 360


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    mse = np.mean((a.astype(np.float64) - b) ** 2)
    return float(10 * np.log10(255**2 / mse))


def luma(frames: np.ndarray) -> np.ndarray:
    """The mean luma of a clip, as a decoder reading the file would average it."""
    return (frames.astype(np.float64) @ [0.299, 0.587, 0.114]).mean(axis=0)


def scaled(frames: np.ndarray, factor: float) -> np.ndarray:
    """Every frame scaled by ``factor`` with swscale's bicubic filter (what ffmpeg uses)."""
    _, h, w, _ = frames.shape
    size = {"width": round(w * factor / 2) * 2, "height": round(h * factor / 2) * 2}
    return np.stack([av.VideoFrame.from_ndarray(f, format="rgb24")
                     .reformat(**size, interpolation="BICUBIC").to_ndarray(format="rgb24")
                     for f in frames])  # fmt: skip


@pytest.fixture(scope="module")
def clip() -> np.ndarray:
    return natural_clip(WIDTH, HEIGHT, 3 * FPS, seed=1)


@pytest.fixture(scope="module")
def delivered(clip, tmp_path_factory) -> np.ndarray:
    """The marked clip as cinegen delivers it (H.264, crf 20), decoded again."""
    path = tmp_path_factory.mktemp("marked") / "marked.mp4"
    return read_frames(encode_mp4(embed(clip, PAYLOAD), path, FPS, crf=20))


def test_the_mark_is_invisible_by_psnr_and_touches_only_luma(clip):
    clip = clip[:12]
    marked = embed(clip, PAYLOAD)
    assert psnr(marked, clip) >= 40.0
    change = marked.astype(int) - clip
    reach = np.abs(change).max()
    kept = ((clip >= reach) & (clip <= 255 - reach)).all(axis=-1)  # no channel clipped
    moved = change[kept]
    assert np.array_equal(moved[:, 0], moved[:, 1]) and np.array_equal(moved[:, 0], moved[:, 2])
    both = kept[0] & kept[-1]
    assert np.array_equal(change[0][both], change[-1][both])  # the same in every frame
    assert np.array_equal(embed(clip, PAYLOAD), marked)  # and reproducible


@pytest.mark.parametrize(
    "attack",
    ["as delivered", "crf 28", "half size", "10% cropped off each side", "a 2-second cut"],
)
def test_the_payload_survives(attack, delivered, tmp_path):
    attacked = {
        "as delivered": lambda f: f,
        "crf 28": lambda f: f,
        "half size": lambda f: scaled(f, 0.5),
        "10% cropped off each side": lambda f: f[:, 36:-36, 64:-64],
        "a 2-second cut": lambda f: f[FPS // 2 : FPS // 2 + 2 * FPS],
    }[attack](delivered)
    if attack != "as delivered":  # every attack ends with the site's re-encode
        path = encode_mp4(np.ascontiguousarray(attacked), tmp_path / "site.mp4", FPS, crf=28)
        attacked = read_frames(path)
    found = detect(luma(attacked))
    assert found.detected and found.payload == PAYLOAD, found
    assert found.confidence > 0.999


def test_no_mark_is_found_where_there_is_none(tmp_path):
    """Unmarked clips of every kind: panning, still, flat, noise, the marked clip's own
    source. None may yield a payload (bench/watermark.py counts 1,000)."""
    pictures = [luma(natural_clip(WIDTH, HEIGHT, 12, seed=s, still=s % 2 == 0))
                for s in range(2, 14)]  # fmt: skip
    rng = np.random.default_rng(0)
    pictures += [np.full((HEIGHT, WIDTH), 128.0), rng.normal(128, 40, (HEIGHT, WIDTH))]
    clean = natural_clip(WIDTH, HEIGHT, 48, seed=1)
    pictures.append(mean_luma(encode_mp4(clean, tmp_path / "clean.mp4", FPS, crf=28)))
    for picture in pictures:
        found = detect(picture)
        assert not found.detected and found.payload is None and found.confidence == 0.0
        assert found.score < 6.0  # below the peak a mark must show


def test_another_key_neither_finds_nor_confuses_the_mark(delivered):
    assert detect(luma(delivered), key="cinegen").payload == PAYLOAD
    assert not detect(luma(delivered), key="another deployment").detected


def test_the_code_corrects_errors_and_refuses_noise():
    rng = np.random.default_rng(3)
    message = rng.integers(0, 2, PAYLOAD_BITS).astype(np.uint8)
    coded = ecc.encode(message)
    assert len(coded) == ecc.coded_length(PAYLOAD_BITS)
    flipped = coded.copy()
    flipped[rng.choice(len(coded), 8, replace=False)] ^= 1  # 8 of 140 coded bits wrong
    assert np.array_equal(ecc.decode(flipped * 2.0 - 1, PAYLOAD_BITS), message)
    noise = [ecc.decode(rng.normal(size=len(coded)), PAYLOAD_BITS) for _ in range(300)]
    assert all(result is None for result in noise)  # the CRC refuses what noise decodes to
    with pytest.raises(ValueError, match="soft must hold 140 values"):
        ecc.decode(np.zeros(10), PAYLOAD_BITS)


def test_payload_bits_round_trip_and_range():
    assert Payload.from_bits(PAYLOAD.bits()) == PAYLOAD and str(PAYLOAD) == "beef-12345678"
    with pytest.raises(ValueError, match="server must fit in 16 bits"):
        Payload(1 << 16, 0)
    with pytest.raises(ValueError, match="task must fit in 32 bits"):
        Payload(0, -1)


@pytest.fixture(scope="module")
def settings(tmp_path_factory) -> Settings:
    return Settings(data_dir=tmp_path_factory.mktemp("data"), default_model="cinegen-tiny")


def test_generated_files_carry_this_server_and_their_request(settings, tmp_path):
    engine = Engine(settings)
    fields = {"prompt": "a red circle moving right over a grey studio", "width": 320,
              "height": 192, "n_frames": 24, "seed": 4}  # fmt: skip
    spec = parse_spec(fields)
    result = generate(spec, out=tmp_path / "a", engine=engine)
    request = json.dumps(spec.model_dump(mode="json"), sort_keys=True)  # the CLI's "task"
    expected = Payload(server_mark(load_identity(settings).anchors), task_mark(request))
    assert result.metadata["invisible_mark"] == str(expected)
    variant = result.variants[0]
    for path in (variant.video, variant.thumbnail):
        assert detect_file(path).payload == expected, path.name
    again = generate(spec, out=tmp_path / "b", engine=engine)  # same request, same mark
    assert again.metadata["invisible_mark"] == str(expected)
    image = generate(parse_spec({**fields, "type": "image_gen", "n_frames": 1}),
                     out=tmp_path / "c", engine=engine)  # fmt: skip
    assert detect_file(image.variants[0].image).detected


def test_frames_too_small_to_find_it_again_are_left_unmarked(settings, tmp_path):
    spec = parse_spec(
        {"prompt": "a red circle", "width": 128, "height": 64, "n_frames": 8, "seed": 1}
    )
    result = generate(spec, out=tmp_path, engine=Engine(settings))
    assert result.metadata["invisible_mark"] is None
    off = Engine(settings.model_copy(update={"invisible_mark": False}))
    spec = parse_spec(
        {"prompt": "a red circle", "width": 320, "height": 192, "n_frames": 8, "seed": 1}
    )
    unmarked = generate(spec, out=tmp_path / "off", engine=off)
    assert unmarked.metadata["invisible_mark"] is None
    assert not detect_file(unmarked.variants[0].video).detected


def test_the_cells_read_back_exactly_as_drawn():
    rng = np.random.default_rng(5)
    checker = np.indices((CELLS, CELLS)).sum(axis=0) % 2 * 2 - 1.0  # the grid's Nyquist
    for cells in (rng.choice([-1.0, 1.0], (CELLS, CELLS)), checker):
        for size in (72, 96, 101, 378):
            read = _read_cells(_render(cells, size))
            assert np.corrcoef(read.ravel(), cells.ravel())[0, 1] > 0.999999, size


def test_files_that_cannot_or_must_not_be_read_say_so(tmp_path):
    """What verify may be sent: nothing here reaches a demuxer other than ISO media's or
    Matroska's, or holds more than a bounded picture in memory."""
    playlist = tmp_path / "upload.mp4"  # an FFmpeg concat list naming itself
    playlist.write_text("ffconcat version 1.0\nfile upload.mp4\n")
    Image.new("L", (14000, 14000)).save(tmp_path / "bomb.png")  # 196 Mpx, a tiny file
    Image.new("L", (9000, 1200)).save(tmp_path / "huge.png")
    Image.new("L", (4000, 100)).save(tmp_path / "thin.png")
    sound = tmp_path / "sound.mp4"
    with av.open(str(sound), "w", format="mp4") as container:
        stream = container.add_stream("aac", rate=8000)
        frame = av.AudioFrame.from_ndarray(np.zeros((1, 1024), np.float32), format="fltp",
                                           layout="mono")  # fmt: skip
        frame.sample_rate = 8000
        container.mux(stream.encode(frame))
        container.mux(stream.encode(None))
    expected = {
        playlist: "not an image or a video",
        tmp_path / "bomb.png": "decompression bomb",
        tmp_path / "huge.png": "at most 8192 px",
        tmp_path / "thin.png": "at most 8:1",
        sound: "no video stream",
    }
    for path, message in expected.items():
        with pytest.raises(ValueError, match=message):
            detect_file(path)
