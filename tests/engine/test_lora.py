"""LoRA adapters on the tiny twins: made here in code, installed in a folder, named by
requests, switched without reloading the model, a pinned set fused."""

from __future__ import annotations

import dataclasses
import tempfile
from pathlib import Path

import numpy as np
import pytest
import torch

from cinegen.config import Settings
from cinegen.engine.backends.diffusers import lora
from cinegen.engine.engine import Engine
from cinegen.errors import SpecError
from cinegen.registry import LORA_FAMILIES, MODELS
from cinegen.spec import Preset, parse_spec

pytestmark = pytest.mark.usefixtures("one_thread")

MODEL = "wan-tiny-random"


def make_adapter(folder: Path, name: str, *, family: str = "wan", seed: int) -> Path:
    """A LoRA for ``family``'s tiny twin, in diffusers' file format: rank 4 on every
    attention projection, lora_B random and nonzero (peft starts it at zero: no change)."""
    from peft import LoraConfig, get_peft_model_state_dict

    from cinegen.engine.backends.diffusers.tiny_twins import build_tiny_pipeline

    pipe = build_tiny_pipeline(family)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        pipe.transformer.add_adapter(
            LoraConfig(
                r=4,
                lora_alpha=4,
                target_modules=["to_q", "to_k", "to_v", "to_out.0"],
                init_lora_weights=False,  # random A and B: the adapter changes the output
            )
        )
    layers = get_peft_model_state_dict(pipe.transformer)
    folder.mkdir(parents=True, exist_ok=True)
    type(pipe).save_lora_weights(
        folder, transformer_lora_layers=layers, weight_name=f"{name}.safetensors"
    )
    return folder / f"{name}.safetensors"


@pytest.fixture(scope="module")
def lora_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("loras")
    make_adapter(root / MODEL, "style-a", seed=1)
    make_adapter(root / MODEL, "detail", seed=2)
    return root


def render(engine: Engine, model: str = MODEL, **fields: object) -> np.ndarray:
    spec = parse_spec(
        {"prompt": "a red fox", "model": model, "width": 32, "height": 16, "n_frames": 5,
         "fps": 16, "seed": 7, **fields}
    )  # fmt: skip
    return engine.run(spec).native


@pytest.fixture(scope="module")
def engine(lora_dir: Path) -> Engine:
    return Engine(Settings(lora_dir=lora_dir))


def test_scale_zero_is_the_base_model_exactly_and_another_scale_changes_it(engine):
    base = render(engine)
    assert np.array_equal(render(engine, loras=[{"name": "style-a", "scale": 0.0}]), base)
    styled = render(engine, loras=[{"name": "style-a", "scale": 1.0}])
    assert np.abs(styled - base).max() > 1e-3
    assert np.array_equal(render(engine), base)  # and none again is the base model


def test_switching_adapters_gives_each_ones_frames_without_reloading(lora_dir):
    alone_a = render(Engine(Settings(lora_dir=lora_dir)), loras="style-a:0.8")
    alone_b = render(Engine(Settings(lora_dir=lora_dir)), loras="detail:0.5")
    switching = Engine(Settings(lora_dir=lora_dir))
    backend = switching.backend(MODEL)
    transformer = backend._pipes["t2v"].transformer
    frames = [render(switching, loras=f) for f in ("style-a:0.8", "detail:0.5", "style-a:0.8")]
    assert np.array_equal(frames[0], alone_a)
    assert np.array_equal(frames[1], alone_b)
    assert np.array_equal(frames[2], alone_a)
    assert not np.array_equal(alone_a, alone_b)
    assert switching.backend(MODEL) is backend
    assert backend._pipes["t2v"].transformer is transformer
    assert backend._adapters.loaded == {"style-a", "detail"}  # each loaded once


def test_a_pinned_set_is_fused_and_renders_as_the_same_set_unfused(lora_dir):
    pinned = Engine(Settings(lora_dir=lora_dir, loras={MODEL: "style-a:0.8,detail:0.5"}))
    fused = render(pinned)
    assert pinned.backend(MODEL)._adapters.fused
    unfused = render(Engine(Settings(lora_dir=lora_dir)), loras="style-a:0.8,detail:0.5")
    np.testing.assert_allclose(fused, unfused, atol=1e-4)
    assert np.abs(fused - render(Engine(Settings(lora_dir=lora_dir)))).max() > 1e-3
    # Another set unfuses first; the pinned set again runs unfused, with the same output.
    other = render(pinned, loras="detail:1.0")
    assert not pinned.backend(MODEL)._adapters.fused
    assert not np.allclose(other, fused, atol=1e-3)
    np.testing.assert_allclose(render(pinned), unfused, atol=1e-4)


def test_an_unknown_name_is_refused_listing_the_installed(engine):
    with pytest.raises(SpecError) as refused:
        engine.plan(parse_spec({"prompt": "x", "model": MODEL, "loras": "stlye-a"}))
    assert refused.value.field == "loras.0.name"
    assert refused.value.allowed == "detail, style-a"


@pytest.mark.parametrize("name", ["../wan-tiny-random/style-a", "/etc/passwd", "a\\b", ".hidden"])
def test_a_path_is_never_a_name(name):
    with pytest.raises(SpecError) as refused:
        parse_spec({"prompt": "x", "model": MODEL, "loras": [{"name": name}]})
    assert refused.value.field == "loras.0.name"


@pytest.mark.parametrize("scale", [-2.5, 2.01])
def test_scale_outside_the_range_is_refused(scale):
    with pytest.raises(SpecError) as refused:
        parse_spec({"prompt": "x", "model": MODEL, "loras": [{"name": "a", "scale": scale}]})
    assert refused.value.field == "loras.0.scale"


def test_a_model_without_lora_refuses_naming_the_models_that_can(engine):
    with pytest.raises(SpecError) as refused:
        engine.plan(parse_spec({"prompt": "x", "model": "cinegen-tiny", "loras": "style-a"}))
    assert refused.value.field == "loras"
    assert MODEL in str(refused.value.allowed)
    assert "cinegen-tiny" not in str(refused.value.allowed)


def test_the_lora_flag_matches_the_pipelines_that_load_loras():
    import diffusers
    from diffusers.loaders.lora_base import LoraBaseMixin

    from cinegen.engine.backends.diffusers.families import FAMILIES

    for entry in MODELS.values():
        if entry.family not in FAMILIES:
            assert not entry.capabilities.lora, entry.id
            continue
        family = FAMILIES[entry.family]
        classes = [c for c in (family.t2v, family.i2v, family.keyframes) if c]
        loads = all(issubclass(getattr(diffusers, c), LoraBaseMixin) for c in classes)
        assert entry.capabilities.lora == loads == (entry.family in LORA_FAMILIES), entry.id


def test_turbo_lora_runs_its_own_steps_and_models_says_so(lora_dir, tmp_path, monkeypatch):
    presets = MODELS[MODEL].presets
    held = dataclasses.replace(presets[Preset.turbo], conditioned_guidance=6.0)
    monkeypatch.setitem(presets, Preset.turbo, held)
    make_adapter(tmp_path / MODEL, "turbo", seed=3)
    settings = Settings(lora_dir=tmp_path)
    asked = {"prompt": "x", "model": MODEL, "seed": 1}
    turbo = Engine(settings).plan(parse_spec({**asked, "preset": "turbo"}))
    assert turbo.loras == (("turbo", 1.0),)
    assert (turbo.preset_config.steps, turbo.preset_config.guidance) == (4, 1.0)
    assert turbo.preset_config.guidance_for(conditioned=True) == 1.0  # not the preset's 6
    assert not turbo.preset_config.cache
    assert lora.describe_turbo(MODELS[MODEL], settings) == "LoRA turbo (4 steps)"
    assert lora.describe_turbo(MODELS[MODEL], Settings(lora_dir=lora_dir)) == (
        "fewer steps, step cache"
    )
    quality = Engine(settings).plan(parse_spec(asked))
    assert quality.loras == ()


def test_deployment_loras_must_be_installed_and_for_a_model_that_takes_them(lora_dir):
    with pytest.raises(ValueError, match="not installed"):
        Settings(lora_dir=lora_dir, loras={MODEL: "missing:1"})
    with pytest.raises(ValueError, match="cannot take LoRA"):
        Settings(lora_dir=lora_dir, loras={"cinegen-tiny": "style-a"})
    keyed = Settings(lora_dir=lora_dir, loras={"WAN_TINY_RANDOM": {"style-a": 0.8}})
    assert keyed.loras == {MODEL: {"style-a": 0.8}}


@pytest.mark.filterwarnings("ignore:Already found a `peft_config`")
def test_diffusers_fused_adapters_ignore_which_are_active(lora_dir):
    """Why ``Adapters`` unfuses before it switches (pinned: a diffusers or peft release that
    changes it fails here): once fused, ``set_adapters`` to another adapter changes nothing
    until ``unfuse_lora``."""
    from safetensors.torch import load_file

    from cinegen.engine.backends.diffusers.tiny_twins import build_tiny_pipeline

    pipe = build_tiny_pipeline("wan")
    pipe.set_progress_bar_config(disable=True)
    for name in ("style-a", "detail"):
        state = load_file(lora_dir / MODEL / f"{name}.safetensors")
        pipe.load_lora_weights(state, adapter_name=name)

    def latents() -> torch.Tensor:
        generator = torch.Generator().manual_seed(0)
        call = dict(height=16, width=32, num_frames=5, num_inference_steps=2)
        return pipe("a fox", **call, output_type="latent", generator=generator).frames

    pipe.set_adapters(["style-a"], [1.0])
    pipe.fuse_lora(adapter_names=["style-a"])
    fused = latents()
    pipe.set_adapters(["detail"], [1.0])
    assert torch.equal(latents(), fused)  # still style-a's
    pipe.unfuse_lora()
    assert not torch.allclose(latents(), fused, atol=1e-3)  # now detail's


def test_the_deployment_sets_loras_in_the_environment(lora_dir, monkeypatch):
    monkeypatch.setenv("CINEGEN_LORA_DIR", str(lora_dir))
    monkeypatch.setenv("CINEGEN_LORAS__WAN_TINY_RANDOM", "style-a:0.8,detail:0.5")
    monkeypatch.setenv("CINEGEN_TURBO_LORAS__WAN_TINY_RANDOM", '{"name": "detail", "steps": 2}')
    settings = Settings()
    assert settings.loras == {MODEL: {"style-a": 0.8, "detail": 0.5}}
    assert lora.describe_turbo(MODELS[MODEL], settings) == "LoRA detail (2 steps)"
    asked = {"prompt": "x", "model": MODEL, "seed": 1}
    # The pinned set, with turbo's LoRA at the scale the pinned set gives it.
    turbo = Engine(settings).plan(parse_spec({**asked, "preset": "turbo"}))
    assert turbo.loras == (("style-a", 0.8), ("detail", 0.5))
    assert turbo.preset_config.steps == 2
    assert Engine(settings).plan(parse_spec({**asked, "loras": []})).loras == ()


# --- Wan 2.2 A14B: two experts -----------------------------------------------------------
WAN22 = "wan-2.2-t2v-tiny-random"


def wan22_weights(seed: int) -> dict[str, torch.Tensor]:
    from safetensors.torch import load_file

    with tempfile.TemporaryDirectory() as where:
        return load_file(make_adapter(Path(where), "a", family="wan-2.2", seed=seed))


@pytest.fixture(scope="module")
def wan22_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Adapters for the two-expert twin: one-transformer files (``transformer.*``), and
    files naming the low-noise expert's weights (``transformer_2.*``)."""
    from safetensors.torch import save_file

    root = tmp_path_factory.mktemp("loras-wan22")
    (root / WAN22).mkdir()
    first, second = wan22_weights(1), wan22_weights(2)
    files = {
        "one-file": first,
        "pair": lora.join_experts(first, first),  # the same weights named for each expert
        "late": lora.join_experts({}, second),  # the low-noise expert's only
        "split": lora.join_experts(first, second),
    }
    for name, state in files.items():
        # One tensor under two names ("pair") is refused by safetensors: a copy each.
        save_file({k: v.clone() for k, v in state.items()}, root / WAN22 / f"{name}.safetensors")
    return root


@pytest.mark.slow
def test_an_adapter_for_the_low_noise_expert_alone_changes_the_late_steps(wan22_dir):
    engine = Engine(Settings(lora_dir=wan22_dir))
    base = render(engine, WAN22)
    assert np.array_equal(render(engine, WAN22, loras="late:0"), base)
    assert np.abs(render(engine, WAN22, loras="late:1") - base).max() > 1e-3
    experts = engine.backend(WAN22)._pipes["t2v"]
    assert experts.get_list_adapters() == {"transformer_2": ["late"]}
    assert np.array_equal(render(engine, WAN22), base)


@pytest.mark.slow
def test_a_one_transformer_file_reaches_both_experts(wan22_dir):
    engine = Engine(Settings(lora_dir=wan22_dir))
    one_file = render(engine, WAN22, loras="one-file:1")
    assert np.array_equal(one_file, render(engine, WAN22, loras="pair:1"))
    assert np.abs(one_file - render(engine, WAN22)).max() > 1e-3
    experts = engine.backend(WAN22)._pipes["t2v"].get_list_adapters()
    assert experts == {"transformer": ["one-file", "pair"], "transformer_2": ["one-file", "pair"]}


@pytest.mark.slow
def test_a_pinned_two_expert_set_is_fused_into_both(wan22_dir):
    pinned = Engine(Settings(lora_dir=wan22_dir, loras={WAN22: "split:0.8,late:0.5"}))
    fused = render(pinned, WAN22)
    assert pinned.backend(WAN22)._adapters.fused
    unfused = render(Engine(Settings(lora_dir=wan22_dir)), WAN22, loras="split:0.8,late:0.5")
    np.testing.assert_allclose(fused, unfused, atol=1e-4)


def test_a_second_expert_s_weights_on_a_one_transformer_model_are_refused():
    with pytest.raises(ValueError, match="second expert"):
        lora.experts({"transformer_2.blocks.0.x.lora_A.weight": torch.zeros(1)}, two=False)
