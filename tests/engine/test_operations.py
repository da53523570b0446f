"""The creation tools on the embedded model, whose world we can read back: what a user sees
in the frames, and the clear refusals on models that cannot do an operation."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

import numpy as np
import pytest

from cinegen.config import Settings
from cinegen.engine.engine import Engine, Rendered
from cinegen.engine.plan import needs
from cinegen.errors import SpecError
from cinegen.models.tiny.analyse import analyse
from cinegen.models.tiny.vocab import Background, Color, Motion
from cinegen.registry import MODELS
from cinegen.spec import parse_spec
from cinegen.spec_parts import InpaintItem

pytestmark = pytest.mark.slow  # renders every operation

SIZE, FPS = 64, 24
RIGHT = "a red circle moving right in a grey studio"


@pytest.fixture(scope="module")
def engine() -> Engine:
    return Engine(Settings(default_model="cinegen-tiny", visible_mark=False))


@pytest.fixture(scope="module")
def store(engine: Engine) -> dict[str, np.ndarray]:
    """Earlier generations by id, as the media store would give them."""
    clip = engine.run(spec(prompt=RIGHT, n_frames=48, seed=1)).variant(0)
    other = engine.run(spec(prompt="a blue square moving down over the ocean", seed=2))
    return {"right": clip, "other": other.variant(0)}


def spec(**fields):
    fixed = {"width": SIZE, "height": SIZE, "fps": FPS, "n_frames": 48, "seed": 1}
    return parse_spec({**fixed, **fields})


@pytest.fixture
def render(engine: Engine, store: dict[str, np.ndarray]) -> Callable[..., np.ndarray]:
    """Render a request whose media come from ``store``: variant 0, uint8."""

    def media(item: InpaintItem) -> np.ndarray:
        key = item.generation_id or item.upload_id
        if key not in store:
            raise SpecError("inpaint_items.generation_id", "no such generation", value=key)
        return store[key]

    return lambda **fields: engine.run(spec(**fields), media=media).variant(0)


def centre(frames: np.ndarray) -> np.ndarray:
    """The first object's (x, y) centre per frame, as fractions of the frame."""
    return np.array(analyse(frames).objects[0].track)


def test_extend_forward_keeps_the_source_and_continues_its_motion(render, store):
    video = render(
        prompt=RIGHT,
        operation="extend",
        n_frames=96,
        seed=5,
        source={"generation_ids": ["right"]},
    )
    assert video.shape == (96, SIZE, SIZE, 3)
    assert np.array_equal(video[:48], store["right"])
    added = centre(video[48:])
    assert added[-1, 0] > added[0, 0] + 0.05  # still moving right


def test_extend_backward_puts_the_new_part_first(render, store):
    video = render(
        prompt=RIGHT,
        operation="extend",
        n_frames=72,
        seed=5,
        source={"generation_ids": ["right"], "direction": "backward"},
    )
    assert len(video) == 72 and np.array_equal(video[24:], store["right"])


def test_an_extension_must_add_frames(render):
    with pytest.raises(SpecError) as e:
        render(
            prompt=RIGHT,
            operation="extend",
            n_frames=48,
            source={"generation_ids": ["right"]},
        )
    assert e.value.field == "n_frames" and "more than 48" in str(e.value)


def test_image_to_video_starts_on_the_image_anywhere_on_the_timeline(render, store):
    image = store["other"][10]
    store["picture"] = image[None]
    items = [
        {"type": "image", "upload_id": "picture", "frame_index": 0},
        {"type": "image", "upload_id": "picture", "frame_index": 30},
    ]
    video = render(prompt=RIGHT, inpaint_items=items, seed=4)
    assert np.array_equal(video[0], image) and np.array_equal(video[30], image)
    assert not np.array_equal(video[15], image)  # in between, it moves


def test_crop_bounds_pick_the_part_of_the_image_shown(render, store):
    image = np.zeros((64, 128, 3), np.uint8)
    image[:, 64:] = 255  # left half black, right half white
    store["halves"] = image[None]
    items = [{"type": "image", "upload_id": "halves", "crop_bounds": {"bounds": [0.5, 0, 1, 1]}}]
    video = render(prompt=RIGHT, inpaint_items=items, seed=4)
    assert (video[0] == 255).all()


def test_video_items_hold_their_frame_range(render, store):
    items = [
        {
            "type": "video",
            "generation_id": "right",
            "frame_index": 8,
            "source_start_frame": 20,
            "source_end_frame": 29,
        }
    ]
    video = render(prompt=RIGHT, inpaint_items=items, seed=4)
    assert np.array_equal(video[8:18], store["right"][20:30])


def test_inpaint_changes_only_the_region(render, store):
    video = render(
        prompt="a yellow star growing in a grey studio",
        operation="inpaint",
        seed=6,
        source={"generation_ids": ["right"], "region": [0.25, 0.25, 0.75, 0.75]},
    )
    outside = np.ones((SIZE, SIZE), bool)
    outside[16:48, 16:48] = False
    assert np.array_equal(video[:, outside], store["right"][:, outside])
    inside = np.abs(video[:, ~outside].astype(int) - store["right"][:, ~outside]).mean()
    assert inside > 5


def test_inpaint_of_a_frame_range_keeps_the_other_frames(render, store):
    video = render(
        prompt="a green square moving up over the ocean",
        operation="inpaint",
        seed=6,
        source={"generation_ids": ["right"], "start_frame": 24},
    )
    assert np.array_equal(video[:24], store["right"][:24])
    assert analyse(video[24:]).background is Background.OCEAN


def test_subtle_remix_recolours_and_keeps_motion_and_background(render):
    video = render(
        prompt="a blue circle moving right in a grey studio",
        operation="remix",
        seed=7,
        source={"generation_ids": ["right"], "strength": "subtle"},
    )
    reading = analyse(video)
    assert reading.objects[0].color is Color.BLUE
    assert reading.objects[0].motion is Motion.RIGHT
    assert reading.background is Background.STUDIO


def test_strong_remix_follows_the_new_prompt(render):
    video = render(
        prompt="a yellow square moving up over the ocean",
        operation="remix",
        seed=7,
        source={"generation_ids": ["right"], "strength": "strong"},
    )
    reading = analyse(video)
    assert reading.background is Background.OCEAN
    assert reading.objects[0].color is Color.YELLOW


def test_named_strengths_mean_what_the_model_measured():
    caps = MODELS["cinegen-tiny"].capabilities
    assert caps.remix_strength("subtle") < caps.remix_strength("mild")
    assert caps.remix_strength("mild") < caps.remix_strength("strong")
    assert caps.remix_strength(None) == caps.remix_strength("mild")
    assert caps.remix_strength(0.3) == 0.3


def test_loop_keeps_the_source_and_comes_back_towards_its_start(render, store):
    video = render(
        prompt="a red circle moving left in a grey studio",
        operation="loop",
        n_frames=96,
        seed=8,
        source={"generation_ids": ["right"]},
    )
    assert len(video) == 96 and np.array_equal(video[:48], store["right"])
    x = centre(video)[:, 0]
    # The bridge comes back (0.45 of the frame) without a jump at either seam: measured, the
    # largest step 0.012 and last-to-first 0.011 (holding half a second each side: 0.055, 0.059).
    assert abs(x[47] - x[0]) > 0.3 and np.abs(np.diff(x)).max() < 0.02
    assert abs(x[-1] - x[0]) < 0.02


def test_blend_runs_from_the_first_video_into_the_second(render, store):
    video = render(
        prompt="a red circle moving right in a grey studio",
        operation="blend",
        n_frames=72,
        seed=9,
        source={"generation_ids": ["right", "other"]},
    )
    assert np.array_equal(video[:24], store["right"][:24])
    assert np.array_equal(video[-24:], store["other"][-24:])


def test_recut_keeps_the_frames_where_they_were(render, store):
    video = render(
        prompt=RIGHT,
        operation="recut",
        seed=10,
        source={"generation_ids": ["right"], "start_frame": 12, "end_frame": 30},
    )
    assert np.array_equal(video[12:31], store["right"][12:31])
    assert not np.array_equal(video[:12], store["right"][:12])


def test_storyboard_shots_join_and_each_follows_its_prompt(engine):
    shots = [
        {"prompt": RIGHT},
        {"prompt": "a red circle moving left in a grey studio", "start_frame": 36},
    ]
    fields = dict(prompt=RIGHT, operation="storyboard", storyboard=shots, n_frames=72)
    rendered = engine.run(spec(**fields, n_variants=2, seed=11))
    for i in range(2):
        video = rendered.variant(i)
        x = centre(video)[:, 0]
        assert x[35] > x[0] + 0.1 and x[-1] < x[36] - 0.1  # right, then back left
        assert abs(x[36] - x[35]) < 0.1  # the second shot starts where the first ended
    assert not np.array_equal(rendered.variant(0), rendered.variant(1))


def test_a_character_is_the_same_subject_in_every_shot(render):
    shots = [
        {"prompt": "@hero moving right in a grey studio"},
        {"prompt": "@hero moving left in a grey studio", "start_frame": 36},
    ]
    hero = {"name": "hero", "description": "a yellow circle"}
    video = render(prompt="@hero", operation="storyboard", storyboard=shots, n_frames=72,
                   characters=[hero], seed=11)  # fmt: skip
    for shot in (video[:36], video[36:]):
        assert analyse(shot).objects[0].color is Color.YELLOW


def test_storyboard_progress_runs_once_from_zero_to_the_end(engine):
    calls = []
    shots = [{"prompt": RIGHT}, {"prompt": "a red circle moving left", "start_frame": 24}]
    engine.run(
        spec(prompt=RIGHT, operation="storyboard", storyboard=shots, n_variants=2),
        on_progress=lambda stage, done, total: calls.append((stage, done, total)),
    )
    denoise = [(d, t) for s, d, t in calls if s == "denoise"]
    assert [d for d, _ in denoise] == sorted(d for d, _ in denoise)
    assert denoise[-1][0] == denoise[-1][1] and len({t for _, t in denoise}) == 1


# ---- refusals ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fields", "need"),
    [
        ({"operation": "extend", "source": {"generation_ids": ["g"]}}, "video conditioning"),
        ({"operation": "loop", "source": {"generation_ids": ["g"]}}, "video conditioning"),
        ({"operation": "blend", "source": {"generation_ids": ["g", "h"]}}, "video conditioning"),
        (
            {"operation": "recut", "source": {"generation_ids": ["g"], "start_frame": 2}},
            "video conditioning",
        ),
        ({"operation": "remix", "source": {"generation_ids": ["g"]}}, "remix"),
        (
            {"operation": "inpaint", "source": {"generation_ids": ["g"], "start_frame": 2}},
            "inpainting",
        ),
        (
            {
                "operation": "storyboard",
                "storyboard": [{"prompt": "a"}, {"prompt": "b", "start_frame": 4}],
            },
            "video conditioning",
        ),
        (
            {"inpaint_items": [{"type": "image", "upload_id": "u", "frame_index": 3}]},
            "video conditioning",
        ),
        ({"inpaint_items": [{"type": "image", "upload_id": "u"}]}, "image-to-video"),
    ],
)
def test_models_that_cannot_refuse_by_name_with_the_ones_that_can(fields, need):
    engine = Engine(Settings())
    with pytest.raises(SpecError) as e:
        engine.plan(parse_spec({"prompt": "x", "model": "wan-tiny-random", **fields}))
    assert e.value.field == "model" and need in str(e.value)
    assert "cinegen-tiny" in str(e.value)


def test_a_one_shot_storyboard_needs_no_conditioning():
    engine = Engine(Settings())
    spec_ = parse_spec(
        {
            "prompt": "x",
            "model": "wan-tiny-random",
            "operation": "storyboard",
            "storyboard": [{"prompt": "a"}],
            "seed": 1,
        }
    )
    assert engine.plan(spec_).model.id == "wan-tiny-random"


@pytest.mark.parametrize(
    ("fields", "field", "words"),
    [
        ({"operation": "extend"}, "source", "needs source"),
        (
            {"operation": "blend", "source": {"generation_ids": ["g"]}},
            "source.generation_ids",
            "exactly 2",
        ),
        (
            {"operation": "remix", "source": {"generation_ids": ["g"], "strength": "wild"}},
            "source.strength",
            "subtle, mild, strong",
        ),
        (
            {"operation": "extend", "source": {"generation_ids": ["g"], "strength": 0.5}},
            "source.strength",
            "for remix",
        ),
        (
            {"operation": "extend", "source": {"generation_ids": ["g"], "region": [0, 0, 1, 1]}},
            "source.region",
            "for inpaint",
        ),
        ({"operation": "inpaint", "source": {"generation_ids": ["g"]}}, "source.region", "region"),
        (
            {
                "operation": "inpaint",
                "source": {"generation_ids": ["g"], "region": [0.5, 0, 0.2, 1]},
            },
            "source.region",
            "x0 < x1",
        ),
        ({"source": {"generation_ids": ["g"]}}, "source", "takes no source"),
        (
            {"type": "image_gen", "operation": "remix", "source": {"generation_ids": ["g"]}},
            "operation",
            "image_gen",
        ),
        (
            {
                "operation": "extend",
                "source": {"generation_ids": ["g"], "start_frame": 5, "end_frame": 2},
            },
            "source.end_frame",
            "before start_frame",
        ),
    ],
)
def test_bad_operation_requests_name_the_field(fields, field, words):
    with pytest.raises(SpecError) as e:
        parse_spec({"prompt": "x", **fields})
    assert e.value.field == field and words in str(e.value)


def test_an_unknown_source_names_the_source_field(render):
    with pytest.raises(SpecError) as e:
        render(
            prompt=RIGHT,
            operation="extend",
            n_frames=96,
            source={"generation_ids": ["nowhere"]},
        )
    assert e.value.field == "source.generation_ids.0" and "nowhere" in str(e.value)


def test_a_source_start_past_its_end_is_refused(render):
    with pytest.raises(SpecError) as e:
        render(
            prompt=RIGHT,
            operation="extend",
            n_frames=96,
            source={"generation_ids": ["right"], "start_frame": 60},
        )
    assert e.value.field == "source.start_frame" and "0..47" in str(e.value)


# ---- LTX-Video's condition pipeline, through its tiny-random twin ------------------------


def test_held_runs_are_cut_to_whole_latent_frames_next_to_the_generated_part():
    from cinegen.engine.backends.diffusers.families import held_runs
    from cinegen.media.keep import Keep

    frames = np.arange(33)[:, None, None, None].repeat(2, 1).repeat(2, 2).repeat(3, 3)
    mask = np.zeros((33, 2, 2), bool)
    mask[:12] = True  # context before: its last 9 frames, up to frame 11
    mask[20:31, :1] = True  # context after (partly covered frames count): its first 9
    runs = held_runs(Keep(frames.astype(np.uint8), mask), step=8)
    assert [(first, len(run), int(run[0, 0, 0, 0])) for first, run in runs] == [
        (3, 9, 3),
        (20, 9, 20),
    ]


def _stripes(phase: int) -> np.ndarray:
    """24 frames of 64 x 64 moving stripes, a different pattern for each phase."""
    t, _, x = np.meshgrid(np.arange(24), np.arange(64), np.arange(64), indexing="ij")
    grey = 127 + 120 * np.sin((x + 2 * t) / (3 + 2 * phase) + phase)
    return np.stack([grey, 255 - grey, grey * (phase % 2)], -1).astype(np.uint8)


# Every operation as a request whose varying clip is ``x`` ("a" or "b"; "c" is the second
# video of a blend): its fields, what the output keeps exactly (output part, clip "a"'s part)
# and the part it generates. Only x differs between two runs, so a change in what the model
# renders is x's doing: the backend conditions on it.
OUTSIDE = np.ones((64, 64), bool)
OUTSIDE[16:48, 16:48] = False
Case = tuple[dict, list[tuple[tuple, tuple]], tuple]
OPERATIONS: dict[str, Callable[[str], Case]] = {
    "extend": lambda x: ({"source": {"generation_ids": [x]}, "n_frames": 48},
                         [(np.s_[:24], np.s_[:])], np.s_[24:]),
    "loop": lambda x: ({"source": {"generation_ids": [x]}, "n_frames": 48},
                       [(np.s_[:24], np.s_[:])], np.s_[24:]),
    "blend": lambda x: ({"source": {"generation_ids": [x, "c"]}, "n_frames": 48},
                        [(np.s_[:16], np.s_[:16])], np.s_[16:32]),
    "recut": lambda x: ({"source": {"generation_ids": [x], "start_frame": 8, "end_frame": 15},
                         "n_frames": 24}, [(np.s_[8:16], np.s_[8:16])], np.s_[16:]),
    "inpaint": lambda x: ({"source": {"generation_ids": [x], "region": (0.25, 0.25, 0.75, 0.75)},
                           "n_frames": 24}, [(np.s_[:, OUTSIDE], np.s_[:, OUTSIDE])],
                          np.s_[:, ~OUTSIDE]),
    "remix": lambda x: ({"source": {"generation_ids": [x]}, "n_frames": 24}, [], np.s_[:]),
    "simple_compose": lambda x: (
        {"inpaint_items": [{"type": "video", "generation_id": x, "frame_index": 8,
                            "source_end_frame": 7}], "n_frames": 24},
        [(np.s_[8:16], np.s_[:8])], np.s_[16:]),
    "storyboard": lambda x: (
        {"storyboard": [{"prompt": "stripes", "media": {"type": "video", "generation_id": x}},
                        {"prompt": "stripes", "start_frame": 24}], "n_frames": 48},
        [(np.s_[:24], np.s_[:])], np.s_[24:]),
}  # fmt: skip


@pytest.mark.parametrize("operation", OPERATIONS)
@pytest.mark.parametrize("model", ["ltx-video-tiny-random", "wan-vace-tiny-random"])
def test_real_backends_do_every_operation_they_declare(model, operation):
    engine = Engine(Settings(default_model=model, visible_mark=False))
    clips = {"a": _stripes(0), "b": _stripes(1), "c": _stripes(2)}

    def run(x: str) -> Rendered:
        fields = {"prompt": "stripes", "model": model, "operation": operation, "seed": 3,
                  **OPERATIONS[operation](x)[0]}  # fmt: skip
        return engine.run(spec(**fields), media=lambda i: clips[i.generation_id])

    _, kept, new = OPERATIONS[operation]("a")
    declared = all(
        getattr(MODELS[model].capabilities, need) for need in needs(spec(**{
            "prompt": "x", "operation": operation, **OPERATIONS[operation]("a")[0]}))
    )  # fmt: skip
    if not declared:  # refused, naming the models that can
        with pytest.raises(SpecError) as e:
            run("a")
        assert e.value.field == "model" and "cinegen-tiny" in str(e.value)
        return
    a, b = run("a"), run("b")
    video = a.variant(0)
    for output_part, clip_part in kept:
        assert np.array_equal(video[output_part], clips["a"][clip_part])
    assert video[new].size
    # What the model rendered (before the given pixels go back): random weights pass the
    # clip on faintly (Wan VACE ~1e-5, below one grey level), a trained model strongly.
    for piece_a, piece_b in zip(a.pieces, b.pieces, strict=True):
        assert not np.array_equal(piece_a.native, piece_b.native)


def test_ltx_holds_both_ends_of_a_loop_s_bridge(monkeypatch):
    from cinegen.engine.backends.diffusers.families import FAMILIES

    family, seen = FAMILIES["ltx"], []
    assert family.condition is not None

    def spy(pipe, job, n):
        kwargs = family.condition(pipe, job, n)
        runs = [(c.frame_index, len(c.video) if c.video else 1) for c in kwargs["conditions"]]
        seen.append((job.n_frames, runs))
        return kwargs

    monkeypatch.setitem(FAMILIES, "ltx", dataclasses.replace(family, condition=spy))
    engine = Engine(Settings(default_model="ltx-video-tiny-random", visible_mark=False))
    fields = {"prompt": "stripes", "operation": "loop", "source": {"generation_ids": ["a"]},
              "n_frames": 48, "width": 64, "height": 64, "fps": 24, "seed": 1}  # fmt: skip
    engine.run(parse_spec(fields), media=lambda item: _stripes(0))
    ((n, ((start, before), (end, after))),) = seen
    assert start + before <= n // 2 < end and end + after <= n  # the source's end, then its start
    assert (start, end) == (0, n - 1) and before == after == 1  # the two seam pictures


@pytest.mark.parametrize(
    ("model", "sees"), [("wan-vace-tiny-random", True), ("ltx-video-tiny-random", False)]
)
def test_a_character_s_picture_reaches_models_that_take_reference_images(model, sees):
    engine = Engine(Settings(default_model=model, visible_mark=False))
    pictures = {"red": np.full((1, 48, 48, 3), (220, 30, 30), np.uint8),
                "green": np.full((1, 48, 48, 3), (30, 220, 30), np.uint8)}  # fmt: skip

    def run(picture: str) -> np.ndarray:
        hero = {"name": "hero", "description": "a ball", "upload_id": picture}
        fields = {"prompt": "@hero moving left", "characters": [hero], "seed": 2, "width": 64,
                  "height": 64, "fps": 24, "n_frames": 24}  # fmt: skip
        return engine.run(parse_spec(fields), media=media).variant(0)

    def media(item: InpaintItem) -> np.ndarray:
        if item.upload_id not in pictures:
            raise SpecError("inpaint_items.upload_id", "no such upload", value=item.upload_id)
        return pictures[item.upload_id]

    # Same prompt, description and seed: only the picture differs.
    assert np.array_equal(run("red"), run("green")) is not sees
    if sees:
        with pytest.raises(SpecError) as e:
            run("missing")
        assert e.value.field == "characters.0.upload_id"
