"""cinegen.generate(): a prompt to files a person can open, exactly as asked."""

from __future__ import annotations

import json

import numpy as np
import pytest
from PIL import Image

import cinegen
from cinegen.errors import CinegenError
from cinegen.media.encode import is_faststart, probe, read_frames
from cinegen.media.stills import spritesheet_frame_indices
from cinegen.media.watermark import mark_box
from cinegen.shot_planner import shots_for
from cinegen.spec import parse_spec

pytestmark = pytest.mark.slow  # renders


def spec(**fields):
    base = {
        "prompt": "a blue star moving right over a night sky",
        "width": 160,
        "height": 90,
        "n_frames": 30,
        "fps": 15,
        "seed": 5,
        "model": "wan-tiny-random",
    }
    return parse_spec({**base, **fields})


def test_video_file_matches_the_request_and_carries_the_mark(engine, tmp_path):
    engine = _engine(engine, invisible_mark=False)  # only the visible mark differs
    result = cinegen.generate(spec(n_variants=2), out=tmp_path, engine=engine)
    assert len(result.variants) == 2
    for v in result.variants:
        info = probe(v.video)
        assert (info.width, info.height, info.n_frames) == (160, 90, 30)
        assert info.fps == pytest.approx(15) and info.codec == "h264"
        assert info.pix_fmt == "yuv420p" and is_faststart(v.video)
        assert Image.open(v.thumbnail).format == "WEBP"
        assert Image.open(v.spritesheet).format == "JPEG"
    # the visible mark: bright text in the bottom-right box of every frame, absent elsewhere
    marked = read_frames(result.variants[0].video)
    plain_engine = _engine(engine, visible_mark=False)
    unmarked = (
        cinegen.generate(spec(n_variants=1), out=tmp_path / "plain", engine=plain_engine)
        .variants[0]
        .video
    )
    plain = read_frames(unmarked)
    x0, y0, x1, y1 = mark_box(160, 90)
    inside = np.abs(marked[:, y0:y1, x0:x1].astype(int) - plain[:, y0:y1, x0:x1]).mean(
        axis=(1, 2, 3)
    )
    assert inside.min() > 10, "every frame carries the mark"
    outside = np.abs(marked[:, : y0 - 4].astype(int) - plain[:, : y0 - 4]).mean()
    assert outside < 2


def _engine(engine, **settings):
    from cinegen.engine.engine import Engine

    fresh = Engine(engine.settings.model_copy(update=settings))
    fresh._loaded = engine._loaded  # same loaded models, only these settings differ
    return fresh


def test_sidecar_records_what_was_done(engine, tmp_path):
    result = cinegen.generate(spec(style="anime"), out=tmp_path, engine=engine)
    sidecar = json.loads(result.sidecar.read_text())
    assert sidecar["model"] == "wan-tiny-random" and sidecar["preset"] == "quality"
    assert sidecar["style"] == "anime" and "anime style" in sidecar["prompt_used"]
    assert sidecar["seeds"] == [5] and sidecar["spec"]["prompt"].startswith("a blue star")
    assert sidecar["actions"] == shots_for(sidecar["spec"]["prompt"])[1:]  # the next shots
    assert sidecar["output"] == {
        "width": 160,
        "height": 90,
        "n_frames": 30,
        "fps": 15.0,
        "encoder": "libx264",
        "audio": False,  # wan makes no sound
    }
    assert sidecar["files"][0]["audio"] is None
    assert {"torch", "diffusers", "av", "cinegen"} <= set(sidecar["versions"])
    assert (result.sidecar.parent / sidecar["files"][0]["video"]).is_file()


def test_spritesheet_shows_evenly_spaced_frames(engine, tmp_path):
    result = cinegen.generate(spec(), out=tmp_path, engine=engine)
    sheet = Image.open(result.variants[0].spritesheet)
    assert sheet.width == 4 * 240  # 4 columns of 240 px tiles
    assert spritesheet_frame_indices(30, 16)[0] == 0 and spritesheet_frame_indices(30, 16)[-1] == 29


def test_named_output_file_and_image_generation(engine, tmp_path):
    video = cinegen.generate(spec(), out=tmp_path / "clip.mp4", engine=engine)
    assert video.variants[0].video == tmp_path / "clip.mp4"
    assert (tmp_path / "clip.json").is_file() and (tmp_path / "clip.thumbnail.webp").is_file()
    image = cinegen.generate(
        spec(type="image_gen", n_frames=1), out=tmp_path / "kite.png", engine=engine
    )
    png = Image.open(image.variants[0].image)
    assert png.format == "PNG" and png.size == (160, 90)


def test_same_spec_and_seed_give_the_same_video(engine, tmp_path):
    # The frames handed to the encoder are bit-identical run to run ...
    first, second = engine.run(spec()), engine.run(spec())
    np.testing.assert_array_equal(first.variant(0), second.variant(0))
    # ... and so are the files' (the invisible mark, which names each generation, left
    # out): x264 runs without its AVX-512 kernels, whose output drifted with what the
    # process did before (media/x264.py).
    engine = _engine(engine, invisible_mark=False)
    a = cinegen.generate(spec(), out=tmp_path / "a", engine=engine).variants[0].video
    b = cinegen.generate(spec(), out=tmp_path / "b", engine=engine).variants[0].video
    np.testing.assert_array_equal(read_frames(a), read_frames(b))


def files_in(folder):
    return sorted(p for p in folder.rglob("*") if p.is_file())


def test_a_cancel_after_denoising_leaves_no_files(engine, tmp_path):
    """Cancel arrives while files are being written: what was written goes away."""
    from cinegen.errors import Cancelled

    events = []

    def stop_once_media_started():
        return any(stage in ("resample", "encode") for stage, _, _ in events)

    with pytest.raises(Cancelled):
        cinegen.generate(
            spec(n_variants=2),
            out=tmp_path,
            engine=engine,
            on_progress=lambda *e: events.append(e),
            should_stop=stop_once_media_started,
        )
    assert any(stage == "encode" for stage, _, _ in events), "variant 1 was written first"
    assert files_in(tmp_path) == [] and list(tmp_path.iterdir()) == []


def test_a_failure_midway_removes_the_earlier_variants(engine, tmp_path, monkeypatch):
    from cinegen.media import stills

    real = stills.write_spritesheet
    calls = []

    def fail_on_second(frames, path, **kw):
        calls.append(path)
        if len(calls) == 2:
            raise OSError("disk full")
        return real(frames, path, **kw)

    monkeypatch.setattr(stills, "write_spritesheet", fail_on_second)
    with pytest.raises(OSError, match="disk full"):
        cinegen.generate(spec(n_variants=2), out=tmp_path, engine=engine)
    assert files_in(tmp_path) == []


def test_bad_output_places_fail_before_rendering(tmp_path):
    from cinegen.config import Settings
    from cinegen.engine.engine import Engine
    from cinegen.errors import SpecError

    fresh = Engine(Settings())
    (tmp_path / "afile").write_text("x")
    for out, words in [(tmp_path / "clip.png", ".mp4"), (tmp_path / "afile" / "sub", "is a file")]:
        with pytest.raises(SpecError) as e:
            cinegen.generate(spec(), out=out, engine=fresh)
        assert e.value.field == "out" and words in str(e.value)
    assert fresh._loaded == {}, "nothing was loaded for a request that cannot be written"


def test_an_existing_folder_with_a_dot_is_a_folder(engine, tmp_path):
    folder = tmp_path / "runs.v2"
    folder.mkdir()
    result = cinegen.generate(spec(), out=folder, engine=engine)
    assert result.variants[0].video.parent.parent == folder


def test_two_runs_in_the_same_second_get_their_own_folders(engine, tmp_path):
    a = cinegen.generate(spec(), out=tmp_path, engine=engine).sidecar.parent
    b = cinegen.generate(spec(), out=tmp_path, engine=engine).sidecar.parent
    assert a != b and a.is_dir() and b.is_dir()


def test_sidecar_says_when_a_model_ignores_the_negative_prompt(engine, tmp_path):
    result = cinegen.generate(spec(model="hunyuan-video-tiny-random"), out=tmp_path, engine=engine)
    assert json.loads(result.sidecar.read_text())["negative_prompt_used"] is None


def test_without_c2pa_or_an_invisible_mark_no_signing_identity_is_needed(engine, tmp_path):
    """Provenance off: nothing is made in the data folder, and a half-set signing identity
    (which would stop a signing run) does not stop this one."""
    data = tmp_path / "data"
    cert = tmp_path / "cert.pem"
    engine = _engine(engine, c2pa=False, invisible_mark=False, data_dir=data, c2pa_cert=cert)
    result = cinegen.generate(spec(), out=tmp_path / "out", engine=engine)
    assert probe(result.variants[0].video).n_frames == 30
    assert not (data / "provenance").exists()
    signing = _engine(engine, c2pa=True)
    with pytest.raises(CinegenError, match="CINEGEN_C2PA_KEY"):
        cinegen.generate(spec(), out=tmp_path / "signed", engine=signing)
