"""Sampling: deterministic per seed; given frames, kept pixels and remix sources honoured."""

from __future__ import annotations

import numpy as np
import pytest

from cinegen.media.keep import Keep
from cinegen.models.tiny.pipeline import TinyPipeline
from cinegen.models.tiny.toyworld import render_clip, sample_scene

pytestmark = pytest.mark.slow  # samples with a trained miniature

PROMPT = "a red circle moving left over a blue sky"


@pytest.fixture(scope="module")
def pipe(mini_bundle):
    return TinyPipeline.load(mini_bundle)


def scene_clip(seed: int) -> np.ndarray:
    return render_clip(sample_scene(np.random.default_rng(seed), n_objects=1))


def test_same_seed_same_clip_and_each_variant_depends_on_its_own_seed(pipe):
    a = pipe(PROMPT, [1, 2], steps=4, guidance=3.0)
    assert a.shape == (2, 16, 64, 64, 3) and a.dtype == np.float32
    assert a.min() >= 0 and a.max() <= 1
    np.testing.assert_array_equal(a, pipe(PROMPT, [1, 2], steps=4, guidance=3.0))
    alone = pipe(PROMPT, [2], steps=4, guidance=3.0)[0]
    np.testing.assert_allclose(alone, a[1], atol=0.02)  # batch size only moves rounding
    assert np.abs(a[0] - a[1]).mean() > 0.02


def test_a_first_frame_is_reproduced_and_the_rest_is_generated(pipe):
    image = scene_clip(3)[0]
    clips = pipe(["", PROMPT], [4, 5], steps=4, guidance=3.0, first_frame=image)
    for clip in clips:
        np.testing.assert_array_equal(clip[0], image / np.float32(255))
    assert np.abs(clips[0, 1:] - clips[1, 1:]).mean() > 0.01  # other frames follow the seed


def test_kept_pixels_stay_and_the_masked_box_is_regenerated(pipe):
    source = scene_clip(6)
    mask = np.ones(source.shape[:3], bool)
    mask[:, 16:48, 16:48] = False  # regenerate the centre of every frame
    a, b = pipe(PROMPT, [7, 8], steps=4, guidance=3.0, keep=Keep(source, mask))
    for clip in (a, b):
        np.testing.assert_array_equal(clip[mask], source[mask] / np.float32(255))
    box = (slice(None), slice(16, 48), slice(16, 48))
    assert np.abs(a[box] - b[box]).mean() > 0.01  # the box follows the seed
    assert np.abs(a[box] - source[box] / 255).mean() > 0.01  # and is not the source


def test_remix_strength_runs_from_the_source_to_fresh_noise(pipe):
    source = scene_clip(9)
    unchanged = pipe(PROMPT, [1], steps=8, guidance=3.0, source=source, strength=0.0)[0]
    np.testing.assert_allclose(unchanged, pipe.decode(pipe.encode(source)[None])[0], atol=1e-5)
    fresh = pipe(PROMPT, [1], steps=8, guidance=3.0)[0]
    ignored = pipe(PROMPT, [1], steps=8, guidance=3.0, source=source, strength=1.0)[0]
    np.testing.assert_allclose(ignored, fresh, atol=1e-5)
    steps = []
    pipe(
        PROMPT,
        [1],
        steps=8,
        guidance=3.0,
        source=source,
        strength=0.5,
        on_step=lambda estimate: steps.append(1),
    )
    assert len(steps) == 4
    steps.clear()  # without a source there is nothing to start from: every step runs
    pipe(PROMPT, [1], steps=8, guidance=3.0, strength=0.5, on_step=lambda estimate: steps.append(1))
    assert len(steps) == 8


def test_wrong_inputs_name_what_is_wanted(pipe):
    with pytest.raises(ValueError, match=r"first_frame must be \(1, 64, 64, 3\) uint8"):
        pipe(PROMPT, [1], steps=2, guidance=1.0, first_frame=np.zeros((32, 32, 3), np.uint8))
    with pytest.raises(ValueError, match=r"strength must be in \[0, 1\]"):
        pipe(PROMPT, [1], steps=2, guidance=1.0, source=scene_clip(1), strength=1.5)
    with pytest.raises(ValueError, match="2 prompts for 1 seeds"):
        pipe([PROMPT, PROMPT], [1], steps=2, guidance=1.0)
