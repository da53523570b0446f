"""cinegen.generate() with sound: the track in every file that should have one, what the
sidecar says of it, and the refusals when sound cannot be had."""

from __future__ import annotations

import json

import numpy as np
import pytest
from PIL import Image

import cinegen
from cinegen.errors import SpecError
from cinegen.jobs.media import read_pixels
from cinegen.media import audio
from cinegen.media.encode import probe, read_audio
from cinegen.spec import parse_spec

SOUND_MODEL = "ltx-2-tiny-random"


def spec(**fields):
    base = {"prompt": 'a bell rings twice, "ding"', "width": 128, "height": 64, "seed": 8,
            "n_frames": 36, "fps": 24, "model": SOUND_MODEL, "preset": "turbo"}  # fmt: skip
    return parse_spec({**base, **fields})


@pytest.mark.slow  # renders
def test_each_variant_and_its_master_carry_their_sound_and_the_sidecar_says_so(engine, tmp_path):
    result = cinegen.generate(spec(n_variants=2), out=tmp_path, engine=engine, keep_master=True)
    sidecar = json.loads(result.sidecar.read_text())
    assert sidecar["output"]["audio"] is True
    tracks = []
    for variant, listed in zip(result.variants, sidecar["files"], strict=True):
        decoded, rate = read_audio(variant.video)
        assert rate == audio.RATE and decoded.shape == (2, audio.samples_for(36 / 24))
        measured = audio.measure(decoded)
        assert abs(measured.lufs - audio.TARGET_LUFS) <= 1.0
        assert measured.true_peak_dbtp <= audio.CEILING_DBTP
        facts = listed["audio"]
        assert facts["rate"] == 48_000 and facts["channels"] == 2 and facts["codec"] == "aac"
        assert facts["seed"] == variant.seed
        assert abs(facts["loudness_lufs"] - audio.TARGET_LUFS) <= 0.5
        assert facts["made_by"] == {"with_picture": True, "model": SOUND_MODEL}
        master, _ = read_audio(variant.master)
        assert np.corrcoef(master[0], decoded[0])[0, 1] > 0.9  # the same sound, unmarked file
        assert probe(variant.video).n_frames == 36
        tracks.append(decoded)
    assert not np.allclose(tracks[0], tracks[1], atol=1e-3)  # each variant its own sound


@pytest.mark.slow  # renders
def test_audio_off_writes_silent_files(engine, tmp_path):
    result = cinegen.generate(spec(audio="off"), out=tmp_path, engine=engine)
    assert read_audio(result.variants[0].video) is None
    sidecar = json.loads(result.sidecar.read_text())
    assert sidecar["output"]["audio"] is False and sidecar["files"][0]["audio"] is None


@pytest.mark.slow  # renders
def test_a_storyboard_s_shots_join_into_one_track_as_long_as_the_video(engine, tmp_path):
    shots = [{"prompt": "a bell rings", "start_frame": 0},
             {"prompt": "a crowd cheers", "start_frame": 24}]  # fmt: skip
    storyboard = spec(operation="storyboard", storyboard=shots, n_frames=48, prompt="a fair")
    result = cinegen.generate(storyboard, out=tmp_path, engine=engine)
    decoded, _ = read_audio(result.variants[0].video)
    assert decoded.shape == (2, audio.samples_for(2.0))
    # both shots are heard: no second of the track is silent
    per_quarter = np.abs(decoded).reshape(2, 8, -1).max(axis=(0, 2))
    assert per_quarter.min() > 1e-3


def test_audio_on_for_a_model_without_sound_is_refused_before_anything_loads(engine, tmp_path):
    with pytest.raises(SpecError) as refused:
        cinegen.generate(spec(model="wan-tiny-random", audio="on"), out=tmp_path, engine=engine)
    assert refused.value.field == "audio" and SOUND_MODEL in str(refused.value)
    assert not any(tmp_path.iterdir())  # nothing written


def test_an_image_cannot_ask_for_sound():
    with pytest.raises(SpecError) as refused:
        spec(type="image_gen", n_frames=1, audio="on")
    assert refused.value.field == "audio"


def _still(path) -> np.ndarray:
    with Image.open(path) as image:
        return np.asarray(image.convert("RGB"), dtype=np.float32)


@pytest.mark.slow  # renders
def test_sound_leaves_the_pictures_as_they_were(engine, tmp_path):
    """The embedded model's soundtrack hears the finished frames: with sound or without, the
    same seed gives the same frames (the unmarked masters, exactly), and the same thumbnail
    and spritesheet but for the invisible watermark, which names each generation."""
    tiny = {"model": "cinegen-tiny", "prompt": "a red circle bouncing over the ocean",
            "preset": "turbo", "width": 64, "height": 64, "n_frames": 32, "fps": 16,
            "seed": 5}  # fmt: skip

    def made(out: str, **fields):
        spec = parse_spec({**tiny, **fields})
        return cinegen.generate(spec, out=tmp_path / out, engine=engine, keep_master=True)

    heard, quiet = made("on").variants[0], made("off", audio="off").variants[0]
    assert read_audio(heard.video) is not None and read_audio(quiet.video) is None
    assert np.array_equal(read_pixels(heard.master), read_pixels(quiet.master))
    for still in ("thumbnail", "spritesheet"):
        a, b = _still(getattr(heard, still)), _still(getattr(quiet, still))
        assert a.shape == b.shape and np.abs(a - b).mean() < 1.0, still
