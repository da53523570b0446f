"""Seams: of several renders that continue a clip, the engine keeps the one whose first new
frame steps least from the frame it holds."""

from __future__ import annotations

import numpy as np

from cinegen.engine.backends.base import Clips, Sound
from cinegen.engine.seams import candidate_seeds, seam_step, smoothest
from cinegen.media.keep import Keep


def _ramp(jump: float) -> np.ndarray:
    """Eight grey frames brightening by 0.02 a frame, with ``jump`` more after frame 1."""
    levels = 0.2 + 0.02 * np.arange(8) + jump * (np.arange(8) >= 2)
    return np.broadcast_to(levels[:, None, None, None], (8, 4, 4, 3)).astype(np.float32)


def _held(frames: int = 2) -> Keep:
    mask = np.zeros((8, 4, 4), bool)
    mask[:frames] = True
    return Keep(np.zeros((8, 4, 4, 3), np.uint8), mask)


def test_the_step_out_of_the_held_frames_is_read_against_the_usual_step():
    assert abs(seam_step(_ramp(0.0), last_held=1) - 1.0) < 1e-3
    assert abs(seam_step(_ramp(0.1), last_held=1) - 6.0) < 1e-3  # 0.12 against 0.02


def test_the_candidate_that_steps_least_is_kept_with_its_sound():
    tried = np.stack([_ramp(0.3), _ramp(0.01), _ramp(0.1)])
    sound = Sound(np.arange(3, dtype=np.float32).reshape(3, 1, 1), 16_000)
    kept = smoothest(Clips(tried, sound), _held())
    assert np.array_equal(kept.frames, tried[1:2])
    assert kept.sound is not None and kept.sound.samples.ravel().tolist() == [1.0]


def test_without_held_frames_or_candidates_the_first_render_is_kept():
    tried = np.stack([_ramp(0.3), _ramp(0.0)])
    assert np.array_equal(smoothest(Clips(tried), None).frames, tried[:1])
    assert np.array_equal(smoothest(Clips(tried), _held(frames=8)).frames, tried[:1])
    assert np.array_equal(smoothest(Clips(tried[:1]), _held()).frames, tried[:1])


def test_a_variants_own_seed_comes_first_and_candidates_of_neighbours_differ():
    assert candidate_seeds(5, 1) == [5]
    first, second = candidate_seeds(5, 3), candidate_seeds(6, 3)
    assert first[0] == 5 and len(set(first) | set(second)) == 6
