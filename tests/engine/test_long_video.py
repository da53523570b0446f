"""Long video: a request longer than one render, made as overlapping windows on a model that
continues a clip (each window holds the end of the one before), refused by name elsewhere."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from cinegen.config import Settings
from cinegen.engine.engine import Engine
from cinegen.engine.layout import Layout, Segment, Windows
from cinegen.engine.plan import plan
from cinegen.engine.windows import in_windows
from cinegen.errors import SpecError
from cinegen.models.tiny.scene import ObjectSpec, Scene
from cinegen.models.tiny.toyworld import render_clip
from cinegen.models.tiny.vocab import Background, Color, Motion, Shape
from cinegen.spec import parse_spec

RIGHT = "a red circle moving right in a grey studio"


def spec(**fields):
    fixed = {"prompt": RIGHT, "width": 64, "height": 64, "fps": 8, "seed": 3}
    return parse_spec({**fixed, **fields})


# ---- the windows --------------------------------------------------------------------------


@pytest.mark.parametrize(("before", "after"), [(0, 0), (3, 0), (0, 2), (5, 4)])
def test_windows_cover_the_segment_once_each_within_the_length(before: int, after: int) -> None:
    seg = Segment("p", 10, 490, before=before, after=after)
    split = in_windows(Layout((seg,)), length=32, overlap=4)
    parts = split.segments
    assert split.windows == Windows(32, 4)
    assert parts[0].start == 10 and parts[-1].stop == 490
    assert all(a.stop == b.start for a, b in itertools.pairwise(parts))
    assert all(len(p.window) <= 32 for p in parts)
    assert parts[0].before == before and parts[-1].after == after
    assert all(p.before == 4 for p in parts[1:]) and all(p.after == 0 for p in parts[:-1])
    sizes = [p.stop - p.start for p in parts]
    assert max(sizes) - min(sizes) <= 1  # nearly equal: no sliver of a last window


def test_a_segment_that_fits_stays_as_it_is() -> None:
    layout = Layout((Segment("p", 0, 32), Segment("q", 32, 60, before=4)))
    assert in_windows(layout, length=32, overlap=4) is layout


# ---- what a user asks -----------------------------------------------------------------------


def test_a_model_that_cannot_continue_a_clip_refuses_a_long_one_naming_those_that_can() -> None:
    with pytest.raises(SpecError) as refused:
        plan(spec(model="wan-tiny-random", n_frames=480), Settings())
    error = refused.value
    assert error.field == "n_frames" and "ltx-video" in error.message
    assert "cinegen-tiny" in error.message and "wan-tiny-random" not in error.message.split(";")[1]


BOUNCING = "a red circle bouncing in a grey studio"  # a motion the toy world can go on with
SPINNING = "a red square spinning in a grey studio"  # every step alike: a seam shows as itself


@pytest.fixture(scope="module")
def minute() -> tuple[object, np.ndarray, list[tuple[str, int, int]]]:
    """60 s of a bouncing circle from the embedded model, with its progress reports, at 4 fps:
    its 16 frames per 4-s window, so each output step is one of the model's own (at 8 or
    24 fps the resampler spreads each over 2 or 6 frames, and the seams read 1.5x too)."""
    engine = Engine(Settings(default_model="cinegen-tiny", visible_mark=False))
    calls: list[tuple[str, int, int]] = []
    rendered = engine.run(
        spec(prompt=BOUNCING, fps=4, n_frames=240, model="turbo", audio="off"),
        on_progress=lambda stage, done, total: calls.append((stage, done, total)),
    )
    return rendered, rendered.variant(0), calls


def _steps_and_seams(rendered, video: np.ndarray) -> tuple[np.ndarray, list[int]]:
    """Mean absolute change between consecutive frames, and the steps into each window."""
    steps = np.abs(np.diff(video.astype(np.float32), axis=0)).mean(axis=(1, 2, 3))
    return steps, [seg.start - 1 for seg in rendered.layout.segments[1:]]


@pytest.mark.parametrize(
    ("shape", "motion", "ratio"),
    [(Shape.CIRCLE, Motion.BOUNCING, 1.50), (Shape.SQUARE, Motion.SPINNING, 1.00)],
)
def test_the_seam_measure_on_the_toy_worlds_own_minute(shape, motion, ratio) -> None:
    """What a render with no seam at all reads on issue 21's measure (step at a seam over
    the median step): the toy world's own clip, windows tiled as the engine lays them (each
    holding the last frame of the one before). A bounce lands on the floor at a clip's first
    and last frames, so every seam is a floor step, itself 1.5x the median step; a square
    turns at one speed and looks the same after its half turn, so its seams read 1."""
    obj = ObjectSpec(Color.RED, shape, motion, size=0.36, x=0.5, y=0.5)
    clip = render_clip(Scene(Background.STUDIO, (obj,)), n_frames=16)[1:]  # t = 1/15 .. 1
    video = np.tile(clip, (16, 1, 1, 1))  # (240, 64, 64, 3): a minute at 4 fps
    steps = np.abs(np.diff(video.astype(np.float32), axis=0)).mean(axis=(1, 2, 3))
    seams = np.arange(1, 16) * 15 - 1
    assert np.allclose(steps[seams] / np.median(steps), ratio, atol=0.01)


@pytest.mark.slow
def test_a_minute_from_the_embedded_model_is_exact_and_its_seams_are_like_its_steps(minute):
    rendered, video, _ = minute
    assert video.shape == (240, 64, 64, 3)
    assert rendered.layout.windows == Windows(window_frames=16, overlap=1)  # 4 s, one held
    steps, seams = _steps_and_seams(rendered, video)
    assert len(seams) == 15
    # Every window starts and ends on the floor (the toy world's bounce lands at a clip's
    # first and last frames), so the step out of the held frame is the bounce leaving the
    # floor: no jump, the mirror of the landing step into it (0.94-1.04x on seeds 1-5).
    # Trap: the floor step hides a change of look at the seam; on a spinning square (every
    # step alike) a seam shows as itself (bench/operations.py).
    landing = steps[np.array(seams) - 1]
    assert (steps[seams] <= 1.05 * landing).all(), (steps[seams] / landing).round(2)
    assert np.delete(steps, seams).min() > 0  # it moves all along: no window stands still


@pytest.mark.slow
def test_every_seam_of_a_minute_is_within_one_and_a_half_median_steps(minute) -> None:
    """Issue 21's measure on this seed: 1.19 (1.25 with one seed per window, 1.57 before a
    held frame the model drew was held as drawn, ``pipeline.DrawnFrames``, and turbo's
    steps were shifted to high noise)."""
    rendered, video, _ = minute
    steps, seams = _steps_and_seams(rendered, video)
    ratios = steps[seams] / np.median(steps)
    assert ratios.max() <= 1.5, ratios.round(2)


@pytest.mark.slow
@pytest.mark.parametrize(
    ("prompt", "seed"),
    [
        # bench/operations.py, seeds 1-5, three seeds per window (one): bouncing 1.45 1.41
        # 1.19 1.37 1.26 (1.60 1.81 1.25 1.42 1.44), spinning 1.29 1.12 1.45 1.40 1.20 (1.19
        # 1.22 1.49 1.54 1.22); a seamless bounce itself reads 1.50 (a floor step)
        pytest.param(SPINNING, 4, id="spinning-square"),
        pytest.param(BOUNCING, 2, id="bouncing-circle"),
    ],
)
def test_every_seam_of_another_minute_is_within_one_and_a_half_median_steps(
    prompt: str, seed: int
) -> None:
    engine = Engine(Settings(default_model="cinegen-tiny", visible_mark=False))
    rendered = engine.run(
        spec(prompt=prompt, fps=4, n_frames=240, model="turbo", audio="off", seed=seed)
    )
    steps, seams = _steps_and_seams(rendered, rendered.variant(0))
    ratios = steps[seams] / np.median(steps)
    assert ratios.max() <= 1.5, ratios.round(2)


@pytest.mark.slow
def test_a_long_video_reports_progress_once_over_the_whole(minute) -> None:
    _, _, calls = minute
    denoise = [(d, t) for s, d, t in calls if s == "denoise"]
    assert [d for d, _ in denoise] == sorted(d for d, _ in denoise)
    assert len({t for _, t in denoise}) == 1 and denoise[-1][0] == denoise[-1][1]
