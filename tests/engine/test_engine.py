"""The engine end to end on every backend's tiny-random twin: what a user would notice."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from cinegen.config import Settings
from cinegen.engine.engine import Engine
from cinegen.errors import Cancelled, ModelLoadError, SpecError
from cinegen.registry import MODELS
from cinegen.spec import parse_spec
from cinegen.spec_parts import InpaintItem
from tests.conftest import first_frame_image

pytestmark = pytest.mark.slow  # renders on every tiny twin

TINY_T2V = [m.id for m in MODELS.values() if m.tiny_random and m.capabilities.text_to_video]
TINY_I2V = [m.id for m in MODELS.values() if m.tiny_random and m.capabilities.image_to_video]


def spec(**fields):
    base = {
        "prompt": "a red circle moving left",
        "width": 96,
        "height": 64,
        "n_frames": 12,
        "fps": 12,
        "seed": 3,
    }
    return parse_spec({**base, **fields})


def test_every_real_family_has_a_tiny_twin():
    real = {m.id for m in MODELS.values() if not m.tiny_random and m.family != "tiny"}
    assert {f"{r}-tiny-random" for r in real} <= set(MODELS)
    assert {"ltx", "wan", "cogvideox", "mochi", "hunyuan"} <= {m.family for m in MODELS.values()}


@pytest.mark.parametrize("model", TINY_T2V)
def test_text_to_video_gives_exactly_the_requested_frames(engine, model):
    rendered = engine.run(spec(model=model, n_variants=2))
    video = rendered.variant(1)
    assert video.shape == (12, 64, 96, 3) and video.dtype == np.uint8
    assert rendered.native.shape[0] == 2
    assert not np.array_equal(rendered.variant(0), video), "variants must differ"


@pytest.mark.parametrize("model", TINY_T2V)
def test_same_seed_same_frames(engine, model):
    a = engine.run(spec(model=model, seed=11)).native
    b = engine.run(spec(model=model, seed=11)).native
    c = engine.run(spec(model=model, seed=12)).native
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)


def test_variant_frames_do_not_depend_on_how_many_were_asked(engine):
    """Variant i's seed alone decides its frames: a batch of two equals two single runs."""
    both_spec = spec(model="wan-tiny-random", seed=40, n_variants=2)
    both = engine.run(both_spec).native
    second_seed = engine.plan(both_spec).seeds[1]
    second = engine.run(spec(model="wan-tiny-random", seed=second_seed)).native
    np.testing.assert_allclose(both[1], second[0], atol=1e-4)


@pytest.mark.parametrize("model", TINY_I2V)
def test_image_to_video_runs_from_an_uploaded_image(engine, model):
    image = first_frame_image(128, 96)
    seen: list[InpaintItem] = []

    def media(item: InpaintItem) -> np.ndarray:
        seen.append(item)
        return image[None]

    items = [{"type": "image", "upload_id": "up-1", "frame_index": 0}]
    if MODELS[model].capabilities.both_frames:  # wan-flf2v: a last frame too, or refused
        items.append({"type": "image", "upload_id": "up-2", "frame_index": -1})
    rendered = engine.run(spec(model=model, inpaint_items=items), media=media)
    assert [i.upload_id for i in seen] == [i["upload_id"] for i in items]
    assert rendered.variant(0).shape == (12, 64, 96, 3)


def test_image_on_a_text_only_model_is_refused_with_the_models_that_can(engine):
    item = {"type": "image", "upload_id": "up-1"}
    with pytest.raises(SpecError) as e:
        engine.run(spec(model="mochi-tiny-random", inpaint_items=[item]), media=lambda i: None)
    assert e.value.field == "model" and "ltx-video" in str(e.value)


@pytest.mark.parametrize(
    ("model", "with_image", "calls"),
    [
        ("wan-tiny-random", False, 1),
        ("cogvideox-tiny-random", False, 1),
        ("ltx-video-tiny-random", True, 2),
    ],
)
def test_progress_is_per_step_monotonic_and_complete(engine, model, with_image, calls):
    """Variants share each step of one batched call, except LTX image-to-video (per seed)."""
    events: list[tuple[str, int, int]] = []
    items = [{"type": "image", "upload_id": "u"}] if with_image else []
    engine.run(
        spec(model=model, n_variants=2, inpaint_items=items),
        on_progress=lambda *e: events.append(e),
        media=lambda item: first_frame_image(96, 64)[None],
    )
    denoise = [(d, t) for s, d, t in events if s == "denoise"]
    total = calls * MODELS[model].presets["quality"].steps
    assert [d for d, _ in denoise] == list(range(1, total + 1))
    assert {t for _, t in denoise} == {total}


def test_turbo_turns_the_step_cache_on(engine, monkeypatch):
    """With a threshold that reuses every step it can, turbo's frames must change."""
    import dataclasses

    from diffusers.hooks.first_block_cache import FirstBlockCacheConfig

    from cinegen.engine.backends.diffusers.families import FAMILIES

    model = "wan-tiny-random"
    backend = engine.backend(model)
    plain = engine.run(spec(model=model, preset="turbo")).native
    greedy = dataclasses.replace(backend.family, cache=lambda: FirstBlockCacheConfig(threshold=1e9))
    monkeypatch.setattr(backend, "family", greedy)
    monkeypatch.setitem(FAMILIES, "wan", greedy)
    cached = engine.run(spec(model=model, preset="turbo")).native
    assert not np.allclose(plain, cached, atol=1e-6)


def test_turbo_takes_fewer_steps_and_leaves_no_cache_behind(engine):
    events: list[tuple[str, int, int]] = []
    engine.run(
        spec(model="ltx-video-tiny-random", preset="turbo"), on_progress=lambda *e: events.append(e)
    )
    turbo_steps = max(d for s, d, _ in events if s == "denoise")
    assert turbo_steps == MODELS["ltx-video-tiny-random"].presets["turbo"].steps
    assert turbo_steps < MODELS["ltx-video-tiny-random"].presets["quality"].steps
    transformer = engine.backend("ltx-video-tiny-random")._pipes["t2v"].transformer
    assert not transformer.is_cache_enabled


def test_cancel_stops_between_steps(engine):
    events: list[tuple[str, int, int]] = []
    with pytest.raises(Cancelled):
        engine.run(
            spec(model="wan-tiny-random"),
            on_progress=lambda *e: events.append(e),
            should_stop=lambda: any(s == "denoise" for s, _, _ in events),
        )
    assert max(d for s, d, _ in events if s == "denoise") == 1


def test_weights_load_from_a_local_directory(tmp_path):
    """The path a user's downloaded weights take: save a pipeline, load it as model `wan`."""
    from cinegen.engine.backends.diffusers.tiny_twins import build_tiny_pipeline

    build_tiny_pipeline("wan", "t2v").save_pretrained(tmp_path / "wan")
    local = Engine(Settings(model_paths={"wan": tmp_path / "wan"}))
    rendered = local.run(spec(model="wan", n_frames=16, fps=16))
    assert rendered.variant(0).shape == (16, 64, 96, 3)
    assert rendered.backend["device"] == "cpu"


def test_dtype_setting_is_honoured_when_loading_weights(tmp_path):
    from cinegen.engine.backends.diffusers.tiny_twins import build_tiny_pipeline

    build_tiny_pipeline("ltx", "t2v").save_pretrained(tmp_path / "ltx")
    bf16 = Engine(Settings(model_paths={"ltx-video": tmp_path / "ltx"}, dtype="bfloat16"))
    rendered = bf16.run(spec(model="ltx-video", n_frames=9, fps=24))
    assert rendered.backend["dtype"] == "bfloat16"
    assert bf16.backend("ltx-video")._pipes["t2v"].transformer.dtype == torch.bfloat16
    assert rendered.variant(0).shape == (9, 64, 96, 3)


def test_only_the_configured_number_of_models_stay_loaded():
    two = Engine(Settings(max_loaded_models=2))
    for model in (
        "wan-tiny-random",
        "mochi-tiny-random",
        "wan-tiny-random",
        "ltx-video-tiny-random",
    ):
        two.backend(model)
    assert list(two._loaded) == ["wan-tiny-random", "ltx-video-tiny-random"]


def test_missing_weights_say_where_to_put_them(tmp_path):
    (tmp_path / "empty").mkdir()
    broken = Engine(Settings(model_paths={"mochi": tmp_path / "empty"}))
    with pytest.raises(ModelLoadError) as e:
        broken.run(spec(model="mochi"))
    assert "CINEGEN_MODEL_PATHS__MOCHI" in str(e.value) and "genmo/mochi-1-preview" in str(e.value)


def test_bad_requests_fail_before_any_model_loads():
    fresh = Engine(Settings())
    with pytest.raises(SpecError):
        fresh.run(spec(model="wan", n_frames=240, fps=24))
    assert fresh._loaded == {}


def test_vae_tiling_setting_reaches_the_pipeline():
    """Small GPUs decode in tiles; the setting must arrive and the output stay exact."""
    tiled = Engine(Settings(vae_tiling=True))
    assert tiled.backend("wan-tiny-random")._pipes["t2v"].vae.use_tiling
    assert tiled.run(spec(model="wan-tiny-random")).variant(0).shape == (12, 64, 96, 3)
    assert not Engine(Settings()).backend("wan-tiny-random")._pipes["t2v"].vae.use_tiling


@pytest.mark.parametrize("model", TINY_T2V)
def test_previews_show_the_first_frame_as_sampling_stands(engine, model):
    previews: list[np.ndarray] = []
    rendered = engine.run(spec(model=model), on_preview=previews.append)
    first = np.round(rendered.native[0, 0] * 255)
    assert len(previews) >= 2 and all(p.dtype == np.uint8 for p in previews)
    native = engine.plan(spec(model=model))  # LTX-2's grid is 64: 128 x 64
    assert previews[-1].shape == first.shape == (native.native_height, native.native_width, 3)
    if MODELS[model].family in ("ltx", "ltx-2"):  # decoders that look ahead: approximations
        return
    # The last step's latents are the video's: its preview is the first frame (a VAE that
    # decodes frames in groups, CogVideoX's and Hunyuan's, blends it a little).
    assert np.abs(previews[-1] - first).mean() < 8


def test_a_failing_preview_costs_no_video(engine, monkeypatch):
    backend = engine.backend("wan-tiny-random")

    def broken(*args):
        raise RuntimeError("decoder out of memory")

    monkeypatch.setattr(backend, "_preview", broken)
    previews: list[np.ndarray] = []
    rendered = engine.run(spec(model="wan-tiny-random"), on_preview=previews.append)
    assert previews == []
    monkeypatch.undo()
    plain = engine.run(spec(model="wan-tiny-random")).native
    np.testing.assert_array_equal(rendered.native, plain)

    def undeliverable(frame: np.ndarray) -> None:
        raise OSError("database is locked")  # storing it failed, not making it

    delivered = engine.run(spec(model="wan-tiny-random"), on_preview=undeliverable).native
    np.testing.assert_array_equal(delivered, plain)
