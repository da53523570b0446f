"""Guidance per render: a model may follow a prompt alone less hard than a render that holds
pixels or is one piece of several (``PresetConfig.conditioned_guidance``)."""

from __future__ import annotations

import pytest

from cinegen.config import Settings
from cinegen.engine.engine import Engine
from cinegen.registry import MODELS
from cinegen.registry.entries import PresetConfig
from cinegen.spec import Preset, parse_spec


def test_a_preset_without_a_conditioned_guidance_uses_one_guidance():
    plain = PresetConfig(steps=4, guidance=5.0)
    assert plain.guidance_for(True) == plain.guidance_for(False) == 5.0
    split = PresetConfig(steps=4, guidance=2.0, conditioned_guidance=4.0)
    assert (split.guidance_for(False), split.guidance_for(True)) == (2.0, 4.0)


@pytest.fixture(scope="module")
def engine_and_calls():
    engine = Engine(Settings(default_model="cinegen-tiny", visible_mark=False))
    backend = engine.backend("cinegen-tiny")
    calls: list[float] = []
    render = backend.render

    def spy(job, hooks):
        calls.append(job.guidance)
        return render(job, hooks)

    backend.render = spy
    return engine, calls


def _run(engine_and_calls, **fields):
    engine, calls = engine_and_calls
    calls.clear()
    fixed = {"prompt": "a red ball bouncing", "width": 64, "height": 64, "fps": 4}
    engine.run(parse_spec({**fixed, "model": "quality", "audio": "off", "seed": 1, **fields}))
    return list(calls)


@pytest.mark.slow
def test_a_render_from_a_prompt_alone_uses_the_presets_guidance(engine_and_calls):
    quality = MODELS["cinegen-tiny"].presets[Preset.quality]
    assert _run(engine_and_calls, n_frames=8) == [quality.guidance] == [2.0]


@pytest.mark.slow
def test_every_window_of_a_long_video_uses_the_conditioned_guidance(engine_and_calls):
    """Its first window holds nothing, but one guidance throughout keeps the motion's speed
    from changing at the first seam."""
    calls = _run(engine_and_calls, n_frames=40)  # 10 s at 4 fps: three 4-s windows
    assert len(calls) == 3 and set(calls) == {4.0}
