"""Wan 2.2 through its tiny-random twins: both A14B experts, TI2V's text and image paths,
weights from a local directory, the turbo cache on each expert."""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from cinegen.config import Settings
from cinegen.engine.backends.base import RenderJob, StepHooks
from cinegen.engine.backends.diffusers import families
from cinegen.engine.backends.diffusers.backend import DiffusersVideoBackend
from cinegen.engine.backends.diffusers.tiny_twins import build_tiny_pipeline
from cinegen.engine.backends.diffusers.tiny_wan22 import BOUNDARY_RATIO
from cinegen.media.keep import Keep
from cinegen.registry import MODELS

from .render_jobs import first_frame, tiny_job

pytestmark = [pytest.mark.slow, pytest.mark.usefixtures("one_thread")]  # renders on the twins

EXPERTS = ("transformer", "transformer_2")


def job(**fields: Any) -> RenderJob:
    own: dict[str, Any] = dict(
        width=32,
        height=16,
        fps=16.0,
        steps=4,
        guidance=4.0,
    )
    return tiny_job(**{**own, **fields})


def backend(model: str, **settings: Any) -> DiffusersVideoBackend:
    return DiffusersVideoBackend(MODELS[model], Settings(**settings))


def _timesteps_by_expert(pipe: Any) -> dict[str, list[float]]:
    """Every timestep each expert is called at, recorded by forward hooks."""
    seen: dict[str, list[float]] = defaultdict(list)
    for name in EXPERTS:

        def record(module: Any, args: Any, kwargs: dict[str, Any], name: str = name) -> None:
            seen[name].append(float(kwargs["timestep"].flatten()[0]))

        getattr(pipe, name).register_forward_pre_hook(record, with_kwargs=True)
    return seen


@pytest.mark.parametrize(
    ("model", "task", "keep"),
    [("wan-2.2-t2v", "t2v", None), ("wan-2.2-i2v", "i2v", first_frame(32, 16))],
    ids=["t2v", "i2v"],
)
def test_both_experts_run_each_on_its_side_of_the_boundary(
    model: str, task: str, keep: Keep | None
) -> None:
    b = backend(f"{model}-tiny-random")
    pipe = b._pipes[task]
    seen = _timesteps_by_expert(pipe)
    steps: list[int] = []
    clips = b.render(job(keep=keep), StepHooks(on_step=lambda done, total: steps.append(done)))
    assert clips.frames.shape == (2, 9, 16, 32, 3)
    assert steps == [1, 2, 3, 4]  # one call for both seeds, four steps across both experts
    boundary = BOUNDARY_RATIO[task] * pipe.scheduler.config.num_train_timesteps
    high, low = seen["transformer"], seen["transformer_2"]
    assert high and low, "both experts must denoise"
    assert min(high) >= boundary > max(low)
    # Two calls a step (prompt and negative prompt), one expert a step.
    assert len(high) + len(low) == 2 * 4


def test_the_low_noise_expert_guides_at_the_model_card_share() -> None:
    extra = families.FAMILIES["wan-2.2"].extra
    assert extra(job(guidance=4.0)) == {"guidance_scale_2": 3.0}  # text: 4.0 high, 3.0 low
    assert extra(job(guidance=3.5, keep=first_frame(32, 16))) == {"guidance_scale_2": 3.5}


def test_ti2v_renders_text_and_a_first_frame_from_one_checkpoint() -> None:
    b = backend("wan-2.2-ti2v-tiny-random")
    size = dict(width=64, height=32)
    previews: list[np.ndarray] = []
    hooks = StepHooks(on_preview=previews.append, preview_every_s=0.0)
    text = b.render(job(**size), hooks).frames
    assert [p.shape for p in previews] == [(32, 64, 3)] * 4  # its 16x VAE decodes them
    image = b.render(job(**size, keep=first_frame(64, 32)), StepHooks()).frames
    assert text.shape == image.shape == (2, 9, 32, 64, 3)
    t2v, i2v = b._pipes["t2v"], b._pipes["i2v"]
    assert i2v.transformer is t2v.transformer and i2v.vae is t2v.vae  # no second copy
    assert i2v.config.expand_timesteps  # carried over: the image's latent frame held clean
    # The held first latent frame is the image's whatever the seed (the VAE decodes
    # causally): both variants open on the same frame. From text alone they do not.
    np.testing.assert_allclose(image[0, 0], image[1, 0], atol=1e-5)
    assert not np.allclose(text[0, 0], text[1, 0], atol=1e-3)
    green = b.render(job(**size, keep=first_frame(64, 32, (0, 255, 0))), StepHooks()).frames
    assert np.abs(green[0, 0] - image[0, 0]).max() > 1e-3


@pytest.mark.parametrize(("model", "task"), [("wan-2.2-t2v", "t2v"), ("wan-2.2-ti2v", "i2v")])
def test_weights_load_from_a_local_directory(model: str, task: str, tmp_path: Path) -> None:
    """A user's downloaded weights: both experts and the boundary (or TI2V's
    expand_timesteps) come back from the directory, and render what the twin renders."""
    family = MODELS[model].family
    build_tiny_pipeline(family, "t2v").save_pretrained(tmp_path / model)
    loaded = backend(model, model_paths={model: tmp_path / model}, dtype="float32")
    twin = backend(f"{model}-tiny-random")
    render = job(width=64, height=32, keep=first_frame(64, 32) if task == "i2v" else None)
    expected = twin.render(render, StepHooks()).frames
    np.testing.assert_allclose(loaded.render(render, StepHooks()).frames, expected, atol=1e-5)
    assert loaded.weights_from == str(tmp_path / model)
    assert type(loaded._pipes[task]).__name__ == type(twin._pipes[task]).__name__


def test_turbo_caches_both_experts_and_restores_them() -> None:
    b = backend("wan-2.2-t2v-tiny-random")
    pipe = b._pipes["t2v"]
    cached: dict[str, list[bool]] = defaultdict(list)
    for name in EXPERTS:
        expert = getattr(pipe, name)
        expert.register_forward_pre_hook(
            lambda m, a, name=name: cached[name].append(m.is_cache_enabled)
        )
    plain = b.render(job(steps=6), StepHooks()).frames
    assert not any(cached["transformer"] + cached["transformer_2"])
    cached.clear()
    turbo = b.render(job(steps=6, cache=True), StepHooks()).frames
    assert all(cached["transformer"]) and all(cached["transformer_2"])
    assert cached["transformer"] and cached["transformer_2"]
    assert turbo.shape == plain.shape
    assert not any(getattr(pipe, name).is_cache_enabled for name in EXPERTS)
    assert np.array_equal(b.render(job(steps=6), StepHooks()).frames, plain)
