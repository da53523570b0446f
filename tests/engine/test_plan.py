"""Planning: model, preset, style and native grid resolved before any weights load."""

import pytest

from cinegen.config import Settings
from cinegen.engine.plan import native_size, plan
from cinegen.engine.styles import STYLES
from cinegen.errors import SpecError
from cinegen.registry import MODELS, Capabilities
from cinegen.spec import Preset, parse_spec

SETTINGS = Settings(default_model="ltx-video-tiny-random")


def make(**fields):
    return plan(parse_spec({"prompt": "a red circle", "seed": 1, **fields}), SETTINGS)


def test_aliases_pick_the_default_model_and_a_preset():
    assert (make().model.id, make().preset) == ("ltx-video-tiny-random", Preset.quality)
    assert make(model="turbo").preset is Preset.turbo
    assert make(model="sora-2").preset is Preset.turbo
    assert make(model="sora-2-pro").preset is Preset.quality
    assert make(model="wan-tiny-random", preset="turbo").model.id == "wan-tiny-random"


def test_conflicting_alias_and_preset_are_refused():
    with pytest.raises(SpecError) as e:
        make(model="sora-2", preset="quality")
    assert e.value.field == "preset"


def test_unknown_model_lists_every_choice():
    with pytest.raises(SpecError) as e:
        make(model="sora-3")
    assert e.value.field == "model"
    assert all(m in str(e.value) for m in ("ltx-video", "wan", "mochi", "turbo", "sora-2-pro"))


def test_unknown_style_lists_every_style():
    with pytest.raises(SpecError) as e:
        make(style="pointillism")
    assert e.value.field == "style" and all(s in str(e.value) for s in STYLES)


def test_style_adds_to_prompt_and_negative():
    p = make(style="film-noir", negative_prompt="people")
    assert p.prompt.startswith("a red circle, ") and "black and white" in p.prompt
    assert p.negative_prompt.startswith("people") and "color" in p.negative_prompt


def test_native_grid_respects_the_models_rules():
    caps = MODELS["ltx-video"].capabilities
    w, h = native_size(caps, 1920, 1080)
    assert w % 32 == 0 and h % 32 == 0 and w * h <= caps.max_area
    assert abs(w / h - 16 / 9) < 0.1
    assert native_size(MODELS["cogvideox"].capabilities, 1280, 720) == (720, 480)
    p = plan(
        parse_spec({"prompt": "x", "model": "ltx-video", "n_frames": 150, "fps": 30, "seed": 1}),
        SETTINGS,
    )
    frames, fps = p.window(150)
    assert (frames - 1) % 8 == 0 and abs(frames - 5 * 24) <= 8 and fps == 24


def test_small_requests_are_not_rendered_below_one_grid_cell():
    assert native_size(Capabilities(spatial_multiple=32, max_area=10**6), 16, 16) == (32, 32)


def test_too_long_for_the_model_is_refused_with_its_limit():
    with pytest.raises(SpecError) as e:
        spec = parse_spec({"prompt": "x", "model": "wan", "n_frames": 240, "fps": 24, "seed": 1})
        plan(spec, SETTINGS)
    assert e.value.field == "n_frames" and "5.00 s" in str(e.value)


def test_image_to_video_only_models_refuse_text_alone():
    with pytest.raises(SpecError) as e:
        make(model="wan-i2v")
    assert e.value.field == "model" and "image" in str(e.value)


def test_an_operation_the_model_lacks_is_refused_before_any_media_is_read():
    with pytest.raises(SpecError) as e:
        make(operation="inpaint", source={"generation_ids": ["g1"], "start_frame": 2})
    assert e.value.field == "model" and "cannot do inpainting" in str(e.value)
    assert "cinegen-tiny" in str(e.value)


@pytest.mark.draws_seed
def test_seeds_are_fixed_when_given_and_drawn_when_not():
    seeds = make(seed=5, n_variants=3).seeds
    assert seeds[0] == 5 and len(set(seeds)) == 3 and seeds == make(seed=5, n_variants=3).seeds
    assert not set(seeds) & set(make(seed=6, n_variants=3).seeds), (
        "neighbouring seeds share no video"
    )
    assert len(set(make(seed=None, n_variants=4).seeds)) == 4
