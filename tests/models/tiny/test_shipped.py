"""The weights shipped in the package: checked, recorded, and following prompts."""

from __future__ import annotations

import json

import numpy as np
import pytest

from cinegen.models.tiny import weights
from cinegen.models.tiny.analyse import score
from cinegen.models.tiny.evaluate import cases
from cinegen.models.tiny.pipeline import TinyPipeline


@pytest.fixture(scope="module")
def shipped():
    return TinyPipeline.load()


def test_the_shipped_bundle_is_small_checked_and_says_how_it_was_made(shipped):
    path = weights.SHIPPED / weights.WEIGHTS_NAME
    assert path.stat().st_size <= weights.MAX_BYTES
    record = json.loads((weights.SHIPPED / weights.RECORD_NAME).read_text())
    assert record["command"].startswith("cinegen train-tiny") and record["wall_seconds"] > 0
    assert {"seed", "hardware", "torch", "steps", "final_loss"} <= set(record)
    assert shipped.model.record["sha256"] == weights.sha256_file(path)


def test_backgrounds_colours_and_motion_follow_the_prompt(shipped):
    todo = [c for c in cases(8, seed=42) if c.split != "paraphrase"]
    clips = shipped([c.prompt for c in todo], [c.seed for c in todo], steps=12, guidance=4.0)
    frames = np.round(clips * 255).astype(np.uint8)
    results = [score(clip, case.prompt) for case, clip in zip(todo, frames, strict=True)]
    assert sum(r["background"] for r in results) >= 14  # of 16; measured: 16
    assert sum(r["color"] for r in results) >= 13  # measured: 16
    assert sum(r["motion"] for r in results) >= 11  # measured: 16 (v0 weights: 0)


def test_the_night_sky_has_its_stars(shipped):
    """The headline prompt: stars where the night sky has them, not a bare gradient."""
    from cinegen.models.tiny.toyworld import STAR_RGB
    from cinegen.models.tiny.train import background_detail
    from cinegen.models.tiny.vocab import Background

    clips = shipped("a blue star moving right over a night sky", [0, 1], steps=12, guidance=4.0)
    pixels = np.round(clips * 255).astype(np.int16)  # (2, F, H, W, 3)
    starlit = np.abs(pixels - np.array(STAR_RGB)).max(-1) < 50
    stars = background_detail(Background.NIGHT, shipped.size)
    assert starlit[:, :, stars].mean() > 0.7  # measured: 0.98 (the object covers a few)
    assert starlit[:, :, ~stars].mean() < 0.002  # and nowhere else; measured: 0
