"""First and last frames, and reference images: what reaches the model and what comes back,
and the refusals that name the models that can."""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np
import pytest

from cinegen.config import Settings
from cinegen.engine.backends.diffusers import families
from cinegen.engine.backends.diffusers.tiny_twins import build_tiny_pipeline
from cinegen.engine.engine import Engine
from cinegen.errors import SpecError
from cinegen.registry import MODELS
from cinegen.spec import parse_spec
from cinegen.spec_parts import InpaintItem

RED, BLUE, GREEN = (220, 30, 30), (30, 30, 220), (30, 220, 30)
PICTURES = {
    name: np.full((1, 64, 64, 3), colour, np.uint8)
    for name, colour in (("red", RED), ("blue", BLUE), ("green", GREEN))
}


def media(item: InpaintItem) -> np.ndarray:
    key = item.upload_id or item.generation_id
    if key not in PICTURES:
        raise SpecError("inpaint_items.upload_id", "no such upload", value=key)
    return PICTURES[key]


def fields(**more: Any) -> dict[str, Any]:
    base = {"prompt": "a ball moving left", "width": 64, "height": 64, "fps": 24, "seed": 3}
    return {**base, "n_frames": 24, **more}


FIRST_AND_LAST = [
    {"type": "image", "upload_id": "red", "frame_index": 0},
    {"type": "image", "upload_id": "blue", "frame_index": -1},
]


def spied(monkeypatch: pytest.MonkeyPatch, family: str) -> list[dict[str, Any]]:
    """What the family's ``condition`` gives the pipeline, call by call."""
    row = families.FAMILIES[family]
    assert row.condition is not None
    seen: list[dict[str, Any]] = []

    def spy(pipe: Any, job: Any, n: int) -> dict[str, Any]:
        assert row.condition is not None
        kwargs = row.condition(pipe, job, n)
        seen.append(kwargs)
        return kwargs

    monkeypatch.setitem(families.FAMILIES, family, dataclasses.replace(row, condition=spy))
    return seen


# --- the request ------------------------------------------------------------------------
def test_frame_index_minus_one_is_the_last_frame() -> None:
    spec = parse_spec(fields(inpaint_items=FIRST_AND_LAST))
    assert [i.frame_index for i in spec.inpaint_items] == [0, 23]


def test_a_frame_before_minus_one_is_refused_by_name() -> None:
    with pytest.raises(SpecError) as e:
        parse_spec(fields(inpaint_items=[{"type": "image", "upload_id": "red", "frame_index": -2}]))
    assert e.value.field == "inpaint_items.0.frame_index" and "-1" in e.value.message


def test_a_shot_s_media_has_no_last_frame() -> None:
    shot = {"prompt": "a ball", "media": {"type": "image", "upload_id": "red", "frame_index": -1}}
    with pytest.raises(SpecError) as e:
        parse_spec(fields(operation="storyboard", storyboard=[shot]))
    assert e.value.field == "storyboard.0.media.frame_index"


def test_four_reference_images_are_refused_naming_the_limit() -> None:
    with pytest.raises(SpecError) as e:
        parse_spec(fields(reference_images=[{"upload_id": "red"}] * 4))
    assert e.value.field == "reference_images"
    assert "up to 3" in str(e.value)


def test_references_and_characters_pictures_share_one_limit() -> None:
    cast = [
        {"name": f"c{i}", "description": "a ball", "upload_id": "red"} for i in range(3)
    ]  # three pictures already
    with pytest.raises(SpecError) as e:
        parse_spec(fields(characters=cast, reference_images=[{"upload_id": "red"}] * 2))
    assert (
        e.value.field == "reference_images" and e.value.allowed == "up to 1 beside these characters"
    )


def test_a_reference_names_exactly_one_source() -> None:
    with pytest.raises(SpecError) as e:
        parse_spec(fields(reference_images=[{"upload_id": "red", "generation_id": "gen"}]))
    assert e.value.field == "reference_images.0"


# --- refusals, before any weights load --------------------------------------------------
def _refusal(model: str, **more: Any) -> SpecError:
    engine = Engine(Settings(default_model=model, visible_mark=False))
    with pytest.raises(SpecError) as e:
        engine.plan(parse_spec(fields(**more)))
    return e.value


def test_a_last_frame_on_a_first_frame_model_names_the_models_that_can() -> None:
    err = _refusal("wan-i2v-tiny-random", inpaint_items=FIRST_AND_LAST)
    able = (err.allowed or "").split(", ")
    assert err.field == "model" and "last frame" in err.message
    assert {"cinegen-tiny", "wan-2.2-i2v", "wan-vace", "ltx-video"} <= set(able)
    assert "wan-i2v" not in able and "cogvideox-i2v" not in able
    assert "skyreels-v2" not in able  # it holds a clip's first frames only


def test_a_last_frame_on_wan_2_2_ti2v_is_refused_not_ignored() -> None:
    """Its pipeline's ``last_image`` needs the A14B image-to-video checkpoint; TI2V-5B takes
    a first frame into its latents and would drop a last one without a word."""
    for model in ("wan-2.2-ti2v", "wan-2.2-ti2v-tiny-random"):
        err = _refusal(model, inpaint_items=FIRST_AND_LAST)
        assert err.field == "model" and err.value == model
        assert "a last frame after the first" in err.message
        able = (err.allowed or "").split(", ")
        assert "wan-2.2-i2v" in able and not any(m.startswith("wan-2.2-ti2v") for m in able)
    # The first frame alone is what it takes.
    engine = Engine(Settings(default_model="wan-2.2-ti2v", visible_mark=False))
    assert engine.plan(parse_spec(fields(inpaint_items=FIRST_AND_LAST[:1]))).model.id == (
        "wan-2.2-ti2v"
    )


# SkyReels-V2 continues a clip from its first frames: every request that holds frames after
# new ones is refused before weights load, naming the models that hold frames anywhere.
LATER_FRAMES = {
    "extend backward": {
        "operation": "extend",
        "source": {"generation_ids": ["g"], "direction": "backward"},
    },
    "loop": {"operation": "loop", "source": {"generation_ids": ["g"]}},
    "blend": {"operation": "blend", "source": {"generation_ids": ["g", "h"]}},
    "recut keeping later frames": {
        "operation": "recut",
        "source": {"generation_ids": ["g"], "start_frame": 6},
    },
    "a picture mid-clip": {
        "inpaint_items": [{"type": "image", "upload_id": "red", "frame_index": 10}]
    },
}


@pytest.mark.parametrize("asked", LATER_FRAMES.values(), ids=list(LATER_FRAMES))
@pytest.mark.parametrize("model", ["skyreels-v2", "skyreels-v2-tiny-random"])
def test_skyreels_refuses_frames_held_after_new_ones_at_plan_time(
    model: str, asked: dict[str, Any]
) -> None:
    err = _refusal(model, **asked)
    assert err.field == "model" and err.value == model
    assert "holds only a clip's first frames" in err.message
    able = set((err.allowed or "").split(", "))
    assert {"ltx-video", "ltx-2", "wan-vace", "cinegen-tiny"} <= able
    assert not any(m.startswith("skyreels") for m in able)
    if asked.get("source", {}).get("direction"):
        assert "source.direction backward" in err.message


@pytest.mark.parametrize("asked", LATER_FRAMES.values(), ids=list(LATER_FRAMES))
def test_a_model_holding_no_frames_is_told_so_and_offered_only_models_that_can(
    asked: dict[str, Any],
) -> None:
    err = _refusal("wan-tiny-random", **asked)
    assert "video conditioning (holding frames of a clip)" in err.message
    assert "skyreels-v2" not in (err.allowed or "").split(", ")
    assert "wan-vace" in (err.allowed or "").split(", ")


@pytest.mark.parametrize(
    "asked",
    [
        {"operation": "extend", "source": {"generation_ids": ["g"]}},
        {"operation": "recut", "source": {"generation_ids": ["g"], "end_frame": 6}},
        {"inpaint_items": [{"type": "video", "upload_id": "red", "frame_index": 0}]},
    ],
    ids=["extend forward", "recut from the first frame", "a clip at frame 0"],
)
def test_skyreels_plans_what_continues_a_clip_forward(asked: dict[str, Any]) -> None:
    engine = Engine(Settings(default_model="skyreels-v2", visible_mark=False))
    assert engine.plan(parse_spec(fields(**asked))).model.id == "skyreels-v2"
    assert "extend forward" in MODELS["skyreels-v2"].tasks
    assert "video-conditioning" not in MODELS["skyreels-v2"].tasks


def test_a_lone_last_frame_needs_video_conditioning() -> None:
    last = [{"type": "image", "upload_id": "blue", "frame_index": -1}]
    err = _refusal("wan-2.2-i2v-tiny-random", inpaint_items=last)
    assert "video conditioning" in err.message and "wan-2.2-i2v" not in (err.allowed or "")


def test_reference_images_on_a_model_without_them_name_the_ones_with_them() -> None:
    err = _refusal("ltx-video-tiny-random", reference_images=[{"upload_id": "red"}])
    assert err.field == "model" and "(reference_images)" in err.message
    assert err.allowed == ", ".join(
        m.id for m in MODELS.values() if m.capabilities.reference_images
    )


# --- renders -----------------------------------------------------------------------------
@pytest.mark.slow
def test_first_and_last_frame_come_back_and_the_frames_between_are_made() -> None:
    engine = Engine(Settings(default_model="cinegen-tiny", visible_mark=False))
    video = engine.run(parse_spec(fields(inpaint_items=FIRST_AND_LAST)), media=media).variant(0)
    assert video.shape == (24, 64, 64, 3)
    assert np.array_equal(video[0], PICTURES["red"][0])  # given pixels are pasted back
    assert np.array_equal(video[-1], PICTURES["blue"][0])
    between = video[1:-1].astype(int)
    for picture in (PICTURES["red"][0], PICTURES["blue"][0]):
        assert np.abs(between - picture).mean(axis=(1, 2, 3)).min() > 5  # none is a copy
    assert len({frame.tobytes() for frame in video[1:-1]}) == 22  # every one made anew


@pytest.mark.slow
@pytest.mark.usefixtures("one_thread")
def test_wan_2_2_i2v_takes_the_last_frame_natively(monkeypatch: pytest.MonkeyPatch) -> None:
    seen = spied(monkeypatch, "wan-2.2")
    engine = Engine(Settings(default_model="wan-2.2-i2v-tiny-random", visible_mark=False))
    spec = parse_spec(fields(inpaint_items=FIRST_AND_LAST, n_frames=12, fps=12))
    video = engine.run(spec, media=media).variant(0)
    assert video.shape == (12, 64, 64, 3)
    assert [sorted(kwargs) for kwargs in seen] == [["image", "last_image"]]
    assert seen[0]["last_image"].getpixel((5, 5)) == BLUE
    assert np.array_equal(video[-1], PICTURES["blue"][0])


@pytest.mark.slow
@pytest.mark.usefixtures("one_thread")
def test_wan_2_2_i2v_without_a_last_frame_gets_the_first_alone(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    seen = spied(monkeypatch, "wan-2.2")
    engine = Engine(Settings(default_model="wan-2.2-i2v-tiny-random", visible_mark=False))
    spec = parse_spec(fields(inpaint_items=FIRST_AND_LAST[:1], n_frames=12, fps=12))
    engine.run(spec, media=media)
    assert [sorted(kwargs) for kwargs in seen] == [["image"]]


@pytest.mark.slow
@pytest.mark.usefixtures("one_thread")
def test_wan_vace_sees_the_reference_images_and_the_characters_pictures(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    seen = spied(monkeypatch, "wan-vace")
    engine = Engine(Settings(default_model="wan-vace-tiny-random", visible_mark=False))
    hero = {"name": "hero", "description": "a ball", "upload_id": "green"}

    def run(*references: str) -> np.ndarray:
        given = [{"upload_id": r} for r in references]
        spec = fields(prompt="@hero moving left", characters=[hero], reference_images=given)
        return engine.run(parse_spec(spec), media=media).variant(0)

    red_blue = run("red", "blue")
    counts = [len(kwargs.get("reference_images", [])) for kwargs in seen]
    assert counts == [3]  # two given, then the character's picture
    colours = [image.getpixel((5, 5)) for image in seen[0]["reference_images"]]
    assert colours == [RED, BLUE, GREEN]
    assert not np.array_equal(red_blue, run("blue", "blue"))  # the pictures steer the render
    with pytest.raises(SpecError) as e:
        run("missing")
    assert e.value.field == "reference_images.0"


@pytest.mark.slow
@pytest.mark.usefixtures("one_thread")
@pytest.mark.parametrize(("family", "takes"), [("wan", False), ("wan-2.2", True)])
def test_which_wan_image_to_video_pipelines_take_a_last_image(family: str, takes: bool) -> None:
    """Why wan-i2v has no last_frame: Wan 2.1 I2V's image embedder takes one picture, and two
    (first and last) meet the prompt's batch of one (diffusers 0.42.1; the FLF2V checkpoint's
    pos_embed_seq_len folds them into one). Wan 2.2 A14B has no image embedder."""
    from PIL import Image

    pipe = build_tiny_pipeline(family, "i2v")
    red, blue = (Image.new("RGB", (32, 32), c) for c in (RED, BLUE))
    call = dict(prompt="a ball", image=red, last_image=blue, height=32, width=32, num_frames=9,
                num_inference_steps=2, output_type="np")  # fmt: skip
    if takes:
        assert pipe(**call).frames.shape == (1, 9, 32, 32, 3)
    else:
        with pytest.raises(RuntimeError, match="Expected size 2 but got size 1"):
            pipe(**call)
    assert MODELS[f"{family}-i2v-tiny-random"].capabilities.last_frame is takes


@pytest.mark.slow
@pytest.mark.usefixtures("one_thread")
def test_wan_2_1_flf2v_layout_takes_first_and_last_and_needs_both() -> None:
    """What the ``wan-flf2v`` row (Wan-AI/Wan2.1-FLF2V-14B-720P-diffusers) rests on, pinned
    on diffusers 0.42.1 (its twin: tiny_pipelines.build_wan_flf2v): the same I2V pipeline
    and transformer, with the image embedder's ``pos_embed_seq_len`` twice the CLIP tokens
    (the tiny twin's 17: 16 patches and a class token), folds first and last frame into one
    sequence, and a first frame alone no longer fits it."""
    from diffusers import WanTransformer3DModel
    from PIL import Image

    pipe = build_tiny_pipeline("wan", "i2v")
    config = {k: v for k, v in pipe.transformer.config.items() if not k.startswith("_")}
    pipe.register_modules(transformer=WanTransformer3DModel(**{**config, "pos_embed_seq_len": 34}))
    red, blue = (Image.new("RGB", (32, 32), c) for c in (RED, BLUE))
    call = dict(prompt="a ball", image=red, height=32, width=32, num_frames=9,
                num_inference_steps=2, output_type="np")  # fmt: skip
    assert pipe(**call, last_image=blue).frames.shape == (1, 9, 32, 32, 3)
    with pytest.raises(RuntimeError, match="invalid for input of size 68"):
        pipe(**call)
