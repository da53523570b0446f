"""Long video: a request longer than one render, made as overlapping windows on a model that
continues a clip (each window holds the end of the one before), refused by name elsewhere."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from cinegen.config import Settings
from cinegen.engine.engine import Engine
from cinegen.engine.operations import Layout, Segment, Windows, in_windows
from cinegen.engine.plan import plan
from cinegen.errors import SpecError
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


@pytest.fixture(scope="module")
def minute() -> tuple[object, np.ndarray, list[tuple[str, int, int]]]:
    """60 s from the embedded model at 8 fps, with its progress reports."""
    engine = Engine(Settings(default_model="cinegen-tiny", visible_mark=False))
    calls: list[tuple[str, int, int]] = []
    rendered = engine.run(
        spec(n_frames=480, model="turbo", audio="off"),
        on_progress=lambda stage, done, total: calls.append((stage, done, total)),
    )
    return rendered, rendered.variant(0), calls


@pytest.mark.slow
def test_a_minute_from_the_embedded_model_is_exact_with_seams_like_its_steps(minute) -> None:
    rendered, video, _ = minute
    assert video.shape == (480, 64, 64, 3)
    windows = rendered.layout.windows
    assert windows == Windows(window_frames=32, overlap=4)  # 4 s windows, half a second held
    seams = [seg.start for seg in rendered.layout.segments[1:]]
    assert len(seams) >= 14
    steps = np.abs(np.diff(video.astype(np.float32), axis=0)).mean(axis=(1, 2, 3))
    ratios = steps[[t - 1 for t in seams]] / np.median(steps)
    assert ratios.max() <= 1.5, ratios.round(2)


@pytest.mark.slow
def test_a_long_video_reports_progress_once_over_the_whole(minute) -> None:
    _, _, calls = minute
    denoise = [(d, t) for s, d, t in calls if s == "denoise"]
    assert [d for d, _ in denoise] == sorted(d for d, _ in denoise)
    assert len({t for _, t in denoise}) == 1 and denoise[-1][0] == denoise[-1][1]
