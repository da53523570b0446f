"""Memory tiers (CINEGEN_MEMORY) and weight-only quantization (CINEGEN_QUANTIZE): the tier a
device's free memory gets, each model's need per tier, and what loading does with them."""

from __future__ import annotations

import dataclasses
import json
import subprocess
import sys
import warnings

import numpy as np
import pytest

from cinegen.config import Settings
from cinegen.engine import memory
from cinegen.engine.memory import TIERS, GiB, choose, need
from cinegen.errors import ModelLoadError
from cinegen.registry import MODELS

REAL = [m for m in MODELS.values() if not m.tiny_random]
WAN_14B = need(MODELS["wan-i2v"])  # 16.4B parameters with its image projection
WAN_1_3B = need(MODELS["wan"])


def test_every_shipped_model_has_its_parameter_counts():
    assert all(m.footprint is not None for m in REAL)


def test_a_14b_model_on_24_gib_offloads_by_block_groups_and_fits_whole_on_80():
    on_24 = choose(WAN_14B, free=24 * GiB, device="cuda")
    assert on_24.tier == "group" and on_24.blocks_per_group > 1
    assert choose(WAN_14B, free=80 * GiB, device="cuda").tier == "full"
    # More memory, larger groups (fewer copies), never more than the transformer's blocks.
    on_40 = choose(WAN_14B, free=40 * GiB, device="cuda")
    assert on_40.tier == "group" and on_24.blocks_per_group < on_40.blocks_per_group <= 40


def test_a_small_model_whose_text_encoder_fits_alone_moves_whole_components():
    assert choose(WAN_1_3B, free=12 * GiB, device="cuda").tier == "model"


def test_sequential_when_not_even_one_block_group_fits():
    assert WAN_14B is not None
    just_sequential = int(WAN_14B.on_device("sequential", tiled=True) / memory.HEADROOM) + 1
    assert WAN_14B.on_device("group", tiled=True) > just_sequential * memory.HEADROOM
    choice = choose(WAN_14B, free=just_sequential, device="cuda")
    assert choice.tier == "sequential"
    # Nothing fits at all: the least there is, tiled, and the reason says so.
    starved = choose(WAN_14B, free=1 * GiB, device="cuda")
    assert (starved.tier, starved.vae_tiling) == ("sequential", True)
    assert "more than the 1.0 GiB free" in starved.reason


def test_the_vae_is_tiled_only_when_its_whole_decode_would_not_fit():
    hunyuan = need(MODELS["hunyuan-video"])
    assert hunyuan is not None and hunyuan.decode > 40 * GiB > hunyuan.decode_tiled
    assert choose(hunyuan, free=80 * GiB, device="cuda") == memory.Choice(
        "full", True, reason="fits 80.0 GiB free"
    )
    assert not choose(hunyuan, free=200 * GiB, device="cuda").vae_tiling
    assert not choose(WAN_1_3B, free=80 * GiB, device="cuda").vae_tiling


def test_settings_force_a_tier_and_the_tiling():
    forced = choose(WAN_1_3B, free=80 * GiB, device="cuda", tier="sequential", vae_tiling=True)
    assert (forced.tier, forced.vae_tiling) == ("sequential", True)
    assert choose(WAN_14B, free=24 * GiB, device="cuda", tier="group").tier == "group"


def test_the_cpu_is_always_full_residency():
    for tier in ("auto", "group", "sequential"):
        on_cpu = choose(WAN_14B, free=1 * GiB, device="cpu", tier=tier)  # type: ignore[arg-type]
        assert on_cpu.tier == "full" and "CPU" in on_cpu.reason


def test_an_unknown_footprint_loads_whole_and_shows_question_marks():
    unknown = dataclasses.replace(MODELS["wan"], footprint=None)
    assert need(unknown) is None
    assert choose(None, free=4 * GiB, device="cuda").tier == "full"
    assert set(memory.tier_table(unknown).values()) == {"?"}


@pytest.mark.parametrize("model", [m.id for m in REAL])
def test_needs_shrink_from_tier_to_tier_and_with_quantization(model):
    for quantize in ("none", "int8"):
        found = need(MODELS[model], quantize=quantize)
        assert found is not None
        for tiled in (False, True):
            per_tier = [found.on_device(t, tiled=tiled) for t in TIERS]
            assert per_tier == sorted(per_tier, reverse=True), (quantize, tiled, per_tier)
    whole, int8 = need(MODELS[model]), need(MODELS[model], quantize="int8")
    assert whole is not None and int8 is not None
    assert int8.transformer * 2 == pytest.approx(whole.transformer, rel=1e-6)


def test_weights_are_the_published_counts_at_two_bytes():
    wan = need(MODELS["wan"])
    assert wan is not None  # 1.42B + umT5 5.68B + VAE 0.127B, bf16
    assert wan.weights == pytest.approx((1.42e9 + 5.68e9 + 0.127e9) * 2, rel=1e-6)


def test_the_cli_prints_each_models_need_per_tier():
    env = {"COLUMNS": "200", "HF_HUB_OFFLINE": "1"}
    run = subprocess.run(
        [sys.executable, "-m", "cinegen", "models", "--memory", "--json"],
        capture_output=True, text=True, timeout=120, env={**_environ(), **env},
    )  # fmt: skip
    assert run.returncode == 0, run.stderr
    rows = json.loads(run.stdout)
    assert set(rows) == {m.id for m in REAL}
    assert rows["wan-i2v"] == memory.tier_table(MODELS["wan-i2v"])
    table = subprocess.run(
        [sys.executable, "-m", "cinegen", "models", "--memory"],
        capture_output=True, text=True, timeout=120, env={**_environ(), **env},
    ).stdout  # fmt: skip
    assert all(m.id in table for m in REAL) and "sequential" in table


def _environ() -> dict[str, str]:
    import os

    return dict(os.environ)


def test_the_old_offload_setting_still_works_with_a_warning(monkeypatch):
    monkeypatch.setenv("CINEGEN_OFFLOAD", "none")
    with pytest.warns(FutureWarning, match="CINEGEN_MEMORY"):
        assert Settings().memory == "full"
    monkeypatch.delenv("CINEGEN_OFFLOAD")
    with warnings.catch_warnings(record=True):
        assert Settings(offload="sequential").memory == "sequential"
    assert Settings().memory == "auto" and Settings().vae_tiling == "auto"


@pytest.mark.slow
@pytest.mark.usefixtures("one_thread")
def test_an_int8_quantized_model_loads_from_its_folder_and_renders_every_frame(tmp_path):
    pytest.importorskip("torchao")
    from cinegen.engine.backends.diffusers.tiny_twins import build_tiny_pipeline
    from cinegen.engine.engine import Engine
    from cinegen.spec import parse_spec

    build_tiny_pipeline("wan", "t2v").save_pretrained(tmp_path / "wan")
    engine = Engine(Settings(model_paths={"wan": tmp_path / "wan"}, quantize="int8"))
    spec = {"prompt": "a red circle", "width": 96, "height": 64, "n_frames": 16, "fps": 16}
    rendered = engine.run(parse_spec({**spec, "model": "wan", "seed": 3}))
    assert rendered.variant(0).shape == (16, 64, 96, 3) and rendered.variant(0).dtype == np.uint8
    assert rendered.backend["quantize"] == "int8" and rendered.backend["memory"] == "full"
    assert "CPU" in rendered.backend["memory_reason"]
    transformer = engine.backend("wan")._pipes["t2v"].transformer
    assert type(transformer.blocks[0].ffn.net[2].weight).__name__ == "Int8Tensor"


def test_without_torchao_quantizing_names_the_extra_to_install(monkeypatch):
    import torch

    from cinegen.engine.backends.diffusers.placement import quantization

    monkeypatch.setitem(sys.modules, "torchao.quantization", None)  # import fails
    with pytest.raises(ModelLoadError, match=r"needs torchao.*cinegen\[quantize\]"):
        quantization("int8", torch.device("cpu"))
    assert quantization("none", torch.device("cpu")) is None


@pytest.mark.usefixtures("one_thread")
def test_a_forced_tier_on_the_cpu_stays_full_and_says_why():
    from cinegen.engine.engine import Engine

    described = Engine(Settings(memory="sequential")).backend("wan-tiny-random").describe()
    assert described["memory"] == "full" and "CPU" in described["memory_reason"]
    assert described["quantize"] == "none" and described["vae_tiling"] is False


def test_fp8_on_the_cpu_is_refused_naming_the_setting(tmp_path):
    from cinegen.engine.engine import Engine
    from cinegen.spec import parse_spec

    (tmp_path / "wan").mkdir()  # refused before anything is read
    engine = Engine(Settings(model_paths={"wan": tmp_path / "wan"}, quantize="fp8", device="cpu"))
    with pytest.raises(ModelLoadError, match="CINEGEN_QUANTIZE=fp8 needs a GPU"):
        engine.run(parse_spec({"prompt": "a red circle", "model": "wan", "seed": 3}))


@pytest.mark.slow
@pytest.mark.usefixtures("one_thread")
@pytest.mark.parametrize("tier", ["group", "full"])
def test_a_pipeline_placed_by_block_groups_renders_the_same_frames(tier):
    """diffusers' group offloading on a CPU 'device' (no stream): the hooks move nothing, so
    the frames must be exactly those of the resident pipeline."""
    import torch

    from cinegen.engine.backends.diffusers.placement import place
    from cinegen.engine.backends.diffusers.tiny_twins import build_tiny_pipeline

    def render(pipe):
        return pipe(
            prompt="a red circle", height=64, width=96, num_frames=9, num_inference_steps=2,
            generator=torch.Generator("cpu").manual_seed(3), output_type="np",
        ).frames  # fmt: skip

    resident = render(build_tiny_pipeline("wan", "t2v"))
    choice = memory.Choice(tier, vae_tiling=False, blocks_per_group=1)  # type: ignore[arg-type]
    placed = place(build_tiny_pipeline("wan", "t2v"), torch.device("cpu"), choice)
    if tier == "group":
        from diffusers.hooks import HookRegistry

        assert HookRegistry.check_if_exists_or_initialize(placed.transformer.blocks[0]).hooks
    frames = render(placed)
    assert frames.shape == (1, 9, 64, 96, 3)
    np.testing.assert_array_equal(frames, resident)


@pytest.mark.slow
@pytest.mark.usefixtures("one_thread")
@pytest.mark.parametrize("tier", ["group", "sequential"])
def test_a_module_loaded_beside_is_offloaded_by_the_tier_and_computes_the_same(tier):
    """The distilled transformer and the upsampler load beside the pipeline: under an
    offloading tier they move by groups (or layers), never whole."""
    import torch
    from diffusers.hooks import HookRegistry

    from cinegen.engine.backends.diffusers.placement import place_module
    from cinegen.engine.backends.diffusers.tiny_twins import build_tiny_pipeline

    def render(pipe):
        return pipe(
            prompt="a red circle", height=64, width=96, num_frames=9, num_inference_steps=2,
            generator=torch.Generator("cpu").manual_seed(3), output_type="np",
        ).frames  # fmt: skip

    resident = render(build_tiny_pipeline("wan", "t2v"))
    pipe = build_tiny_pipeline("wan", "t2v")
    choice = memory.Choice(tier, vae_tiling=False)
    place_module(pipe.transformer, torch.device("cpu"), choice)
    leaf = pipe.transformer.blocks[0].ffn.net[2]  # a Linear: hooked only leaf by leaf
    assert bool(HookRegistry.check_if_exists_or_initialize(leaf).hooks) == (tier == "sequential")
    np.testing.assert_array_equal(render(pipe), resident)
