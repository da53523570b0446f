"""The toy world: clips have the asked shape, are deterministic, show every motion plainly,
and the train split never shows a held-out combination."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from cinegen.models.tiny.toyworld import (
    COLOR_RGB,
    EXCLUDED,
    HELDOUT_COLOR_BACKGROUND,
    HELDOUT_COLOR_SHAPE,
    HELDOUT_SHAPE_MOTION,
    Background,
    Color,
    Motion,
    ObjectSpec,
    Scene,
    Shape,
    background_image,
    is_heldout,
    make_batch,
    render_clip,
    sample_scene,
)


def _pairs(scene: Scene) -> set[tuple[str, str]]:
    found: set[tuple[str, str]] = set()
    for obj in scene.objects:
        found |= {(obj.color, obj.shape), (obj.shape, obj.motion), (obj.color, scene.background)}
    return found


@pytest.fixture(scope="module")
def train_scenes() -> list[Scene]:
    rng = np.random.default_rng(1)
    return [sample_scene(rng, "train") for _ in range(3000)]


@pytest.fixture(scope="module")
def heldout_scenes() -> list[Scene]:
    rng = np.random.default_rng(2)
    return [sample_scene(rng, "heldout") for _ in range(1000)]


@pytest.mark.parametrize(("n_frames", "size"), [(16, 64), (8, 32), (24, 96)])
def test_clip_has_the_asked_frames_and_pixels(n_frames: int, size: int) -> None:
    scene = sample_scene(np.random.default_rng(0))
    clip = render_clip(scene, n_frames=n_frames, size=size)
    assert clip.shape == (n_frames, size, size, 3)
    assert clip.dtype == np.uint8


def test_same_seed_same_batch_other_seed_other_batch() -> None:
    clips_a, captions_a, scenes_a = make_batch(np.random.default_rng(5), 6)
    clips_b, captions_b, scenes_b = make_batch(np.random.default_rng(5), 6)
    clips_c, _, _ = make_batch(np.random.default_rng(6), 6)
    assert np.array_equal(clips_a, clips_b)
    assert (captions_a, scenes_a) == (captions_b, scenes_b)
    assert not np.array_equal(clips_a, clips_c)
    assert clips_a.shape == (6, 16, 64, 64, 3)


def test_render_is_deterministic_and_antialiased() -> None:
    obj = ObjectSpec(Color.RED, Shape.CIRCLE, Motion.RIGHT, 0.4, 0.5, 0.5)
    scene = Scene(Background.STUDIO, (obj,))
    first, again = render_clip(scene), render_clip(scene)
    assert np.array_equal(first, again)
    # Edge pixels blend object and background: more than two distinct colours per frame.
    assert len(np.unique(first[0].reshape(-1, 3), axis=0)) > 4


def test_objects_stand_out_from_every_background_in_colour_and_brightness() -> None:
    palette = np.array(list(COLOR_RGB.values()), np.float32)
    luma = np.array([0.299, 0.587, 0.114], np.float32)
    for background in Background:
        pixels = background_image(background, 64).reshape(-1, 3)
        pixels = pixels[pixels.sum(axis=1) < 400]  # the night sky's one-pixel stars aside
        distance = np.linalg.norm(pixels[:, None] - palette[None], axis=-1)
        assert distance.min() >= 100, background
        # Codecs keep colour at half resolution: luma alone must separate them too.
        assert (palette @ luma).min() - (pixels @ luma).max() >= 45, background
    gaps = np.linalg.norm(palette[:, None] - palette[None], axis=-1)
    assert gaps[~np.eye(len(palette), dtype=bool)].min() >= 95


@pytest.mark.parametrize("motion", list(Motion))
def test_every_motion_is_plain_within_16_frames_at_64_px(motion: Motion) -> None:
    shape = Shape.SQUARE if motion is Motion.SPINNING else Shape.CIRCLE
    scene = Scene(Background.NIGHT, (ObjectSpec(Color.WHITE, shape, motion, 0.32, 0.5, 0.5),))
    clip = render_clip(scene).astype(np.float32)
    mask = clip.min(axis=-1) > 127  # (F, H, W): white object over a dark sky
    area = mask.sum(axis=(1, 2))
    ys, xs = np.indices(mask.shape[1:])
    cx = (mask * xs).sum(axis=(1, 2)) / area / 64
    cy = (mask * ys).sum(axis=(1, 2)) / area / 64
    # Translations cross 40% of the frame, bounces rise 30%, sizes change 2x and more; a
    # turning square leaves a fifth of its pixels within three frames.
    moved, floor = {
        Motion.LEFT: (cx[0] - cx[-1], 0.4),
        Motion.RIGHT: (cx[-1] - cx[0], 0.4),
        Motion.UP: (cy[0] - cy[-1], 0.4),
        Motion.DOWN: (cy[-1] - cy[0], 0.4),
        Motion.BOUNCING: (cy[0] - cy.min(), 0.3),
        Motion.GROWING: (area[-1] / area[0], 2.0),
        Motion.SHRINKING: (area[0] / area[-1], 2.0),
        Motion.SPINNING: (1 - (mask[0] & mask[3]).sum() / (mask[0] | mask[3]).sum(), 0.2),
    }[motion]
    assert moved >= floor, motion


def test_train_never_shows_a_heldout_combination(train_scenes: list[Scene]) -> None:
    heldout = HELDOUT_COLOR_SHAPE | HELDOUT_SHAPE_MOTION | HELDOUT_COLOR_BACKGROUND
    for scene in train_scenes:
        assert not is_heldout(scene)
        assert not _pairs(scene) & heldout


def test_heldout_always_shows_one_and_covers_every_one(heldout_scenes: list[Scene]) -> None:
    heldout = HELDOUT_COLOR_SHAPE | HELDOUT_SHAPE_MOTION | HELDOUT_COLOR_BACKGROUND
    seen = set()
    for scene in heldout_scenes:
        assert is_heldout(scene)
        seen |= _pairs(scene) & heldout
    assert seen == heldout


def test_every_value_and_most_pairs_occur_in_train(train_scenes: list[Scene]) -> None:
    objects = [(scene, obj) for scene in train_scenes for obj in scene.objects]
    assert {o.color for _, o in objects} == set(Color)
    assert {o.shape for _, o in objects} == set(Shape)
    assert {o.motion for _, o in objects} == set(Motion)
    assert {s.background for s, _ in objects} == set(Background)
    allowed = (
        set(itertools.product(Shape, Motion)) - HELDOUT_SHAPE_MOTION - EXCLUDED
    )  # everything else occurs
    assert {(o.shape, o.motion) for _, o in objects} == allowed


def test_no_spinning_circles_anywhere(
    train_scenes: list[Scene], heldout_scenes: list[Scene]
) -> None:
    for scene in train_scenes + heldout_scenes:
        assert all((o.shape, o.motion) not in EXCLUDED for o in scene.objects)


def test_two_object_scenes_have_two_colours_that_never_touch() -> None:
    rng = np.random.default_rng(3)
    for _ in range(100):
        scene = sample_scene(rng, "train", n_objects=2)
        first, second = scene.objects
        assert first.color != second.color
        plain = background_image(scene.background, 64)
        covers = [
            np.abs(render_clip(Scene(scene.background, (obj,))) - plain).max(axis=-1) > 1
            for obj in scene.objects
        ]
        assert not (covers[0] & covers[1]).any()


def test_objects_stay_inside_the_frame() -> None:
    rng = np.random.default_rng(4)
    for _ in range(300):
        scene = sample_scene(rng, "train", n_objects=1)
        clip = render_clip(scene)
        background = background_image(scene.background, 64)
        border = np.ones((64, 64), bool)
        border[1:-1, 1:-1] = False
        assert np.abs(clip[:, border] - background[border]).max() <= 1


def test_bad_split_is_refused_by_name() -> None:
    with pytest.raises(ValueError, match="split"):
        sample_scene(np.random.default_rng(0), "test")  # type: ignore[arg-type]
