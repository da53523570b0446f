"""cinegen-tiny through the engine: any duration and size, stills, first frames, presets."""

from __future__ import annotations

import json

import numpy as np
import pytest

import cinegen
from cinegen.config import Settings
from cinegen.engine.engine import Engine
from cinegen.errors import Cancelled
from cinegen.media.encode import probe, read_frames
from cinegen.registry import MODELS
from cinegen.spec import parse_spec

pytestmark = pytest.mark.slow  # renders

PROMPT = "a blue star moving right over a night sky"


@pytest.fixture(scope="module")
def engine(mini_bundle):
    settings = Settings(default_model="cinegen-tiny", model_paths={"cinegen-tiny": mini_bundle})
    return Engine(settings)


def spec(**fields):
    base = {"prompt": PROMPT, "width": 160, "height": 90, "n_frames": 24, "fps": 12, "seed": 3}
    return parse_spec({**base, **fields})


@pytest.mark.parametrize("seconds", [0.5, 4, 20])
def test_sixteen_native_frames_span_any_duration(engine, seconds):
    plan = engine.plan(spec(n_frames=round(seconds * 12)))
    frames, fps = plan.window(plan.spec.n_frames)
    assert (plan.native_width, plan.native_height, frames) == (64, 64, 16)
    assert fps == pytest.approx(16 / seconds)


def test_a_video_of_the_requested_size_and_length(engine, tmp_path):
    result = cinegen.generate(spec(n_variants=2), out=tmp_path, engine=engine)
    sidecar = json.loads(result.sidecar.read_text())
    assert sidecar["model"] == "cinegen-tiny" and sidecar["native"]["windows"][0]["n_frames"] == 16
    assert sidecar["negative_prompt_used"] is None and len(sidecar["weights_sha256"]) == 64
    for variant in result.variants:
        info = probe(variant.video)
        assert (info.width, info.height, info.n_frames, info.fps) == (160, 90, 24, 12)
    a, b = (read_frames(v.video).astype(int) for v in result.variants)
    assert np.abs(a - b).mean() > 2  # two seeds, two videos


def test_turbo_takes_a_quarter_of_the_steps(engine):
    steps = {}
    for preset in ("quality", "turbo"):
        seen: list[tuple[str, int]] = []
        engine.run(spec(preset=preset), on_progress=lambda s, d, t, seen=seen: seen.append((s, t)))
        steps[preset] = {t for s, t in seen if s == "denoise"}
    assert steps == {
        "quality": {MODELS["cinegen-tiny"].presets["quality"].steps},
        "turbo": {MODELS["cinegen-tiny"].presets["turbo"].steps},
    }
    assert 4 * steps["turbo"].pop() <= steps["quality"].pop()


def test_a_still_and_an_animated_picture(engine, tmp_path):
    still = engine.run(spec(type="image_gen", n_frames=1)).variant(0)
    assert still.shape == (1, 90, 160, 3)
    picture = np.zeros((90, 160, 3), np.uint8)
    picture[:, :80] = (230, 30, 30)  # red left half, green right half
    picture[:, 80:] = (30, 200, 30)
    rendered = engine.run(
        spec(inpaint_items=[{"type": "image", "upload_id": "x", "frame_index": 0}]),
        media=lambda item: picture[None],
    )
    first = rendered.variant(0)[0].astype(int)
    assert np.abs(first[:, :70] - (230, 30, 30)).mean() < 12
    assert np.abs(first[:, 90:] - (30, 200, 30)).mean() < 12


def test_cancel_between_steps(engine, tmp_path):
    calls = []

    def stop():
        calls.append(1)
        return len(calls) >= 2

    with pytest.raises(Cancelled):
        cinegen.generate(spec(), out=tmp_path / "run", engine=engine, should_stop=stop)
    assert not list(tmp_path.rglob("*.mp4"))


def test_previews_show_where_denoising_is_heading_and_end_on_the_video(engine, monkeypatch):
    backend = engine.backend("cinegen-tiny")
    made = []
    decode = backend._preview
    monkeypatch.setattr(backend, "_preview", lambda *a: made.append(1) or decode(*a))
    engine.run(spec())
    assert made == []  # nobody asked: no decode paid for
    previews: list[np.ndarray] = []
    rendered = engine.run(spec(), on_preview=previews.append)
    assert previews and all(p.shape == (64, 64, 3) and p.dtype == np.uint8 for p in previews)
    assert len(made) == len(previews)
    middle = np.round(rendered.native[0, 8] * 255).astype(np.uint8)
    np.testing.assert_array_equal(previews[-1], middle)  # the last step's is the result


def test_the_sidecar_records_the_caption_the_model_read_and_the_prompt_as_given(engine, tmp_path):
    given = "Pink square, heading right, on a black background!"
    result = cinegen.generate(spec(prompt=given), out=tmp_path, engine=engine)
    sidecar = json.loads(result.sidecar.read_text())
    assert sidecar["spec"]["prompt"] == given
    assert sidecar["prompt_used"] == "a pink square moves right over the night sky"
    assert sidecar["prompts_read"] == {given: "a pink square moves right over the night sky"}
    # The next generation records its own prompt only.
    again = cinegen.generate(spec(prompt="a red ball plummets"), out=tmp_path / "2", engine=engine)
    assert json.loads(again.sidecar.read_text())["prompts_read"] == {
        "a red ball plummets": "a red circle moves down"
    }
    # The model's own words are rendered as written.
    own = cinegen.generate(spec(prompt="a red ball falls"), out=tmp_path / "3", engine=engine)
    assert json.loads(own.sidecar.read_text())["prompt_used"] == "a red ball falls"
