"""The registry's declarations hold for the pipelines it builds."""

from __future__ import annotations

import pytest

from cinegen.engine.backends.diffusers.families import FAMILIES
from cinegen.engine.backends.diffusers.tiny_twins import TINY_GRID
from cinegen.registry import MODELS
from cinegen.spec import Preset

# cinegen-tiny is our own network (tests/models/tiny); the rest run diffusers pipelines.
DIFFUSERS = {k: m for k, m in MODELS.items() if m.family in FAMILIES}


@pytest.mark.parametrize("entry", DIFFUSERS.values(), ids=list(DIFFUSERS))
def test_declared_grid_matches_the_built_pipelines(entry):
    """Tiny twins share the real grids, and TINY_GRID is checked against the built pipelines
    in test_tiny_twins.py, so a wrong declaration here fails one of the two."""
    grid = TINY_GRID[entry.family]
    # A coarser declared grid is fine if it lands on the pipeline's: LTX-2 declares 64 so
    # that the quality preset's half-size first stage is still on its VAE's 32.
    assert entry.capabilities.spatial_multiple % grid.spatial_multiple == 0
    assert entry.capabilities.frame_step == grid.frame_step


@pytest.mark.parametrize("entry", MODELS.values(), ids=list(MODELS))
def test_every_model_has_both_presets_and_can_do_something(entry):
    assert set(entry.presets) == set(Preset)
    assert entry.presets[Preset.turbo].steps < entry.presets[Preset.quality].steps
    assert entry.tasks, "a model must be able to do something"


@pytest.mark.parametrize("entry", DIFFUSERS.values(), ids=list(DIFFUSERS))
def test_every_diffusers_task_has_a_pipeline(entry):
    family, caps = FAMILIES[entry.family], entry.capabilities
    if caps.image_to_video:  # an image-to-video pipeline, or one that takes any condition
        assert family.i2v is not None or family.condition is not None
    if caps.video_conditioning or caps.remix or caps.inpaint:
        assert family.condition is not None
