"""GenerationSpec: every input a user can get wrong names the field, value and what is allowed."""

import pytest
from pydantic import ValidationError

from cinegen.errors import SpecError
from cinegen.spec import GenerationSpec, GenerationType, parse_spec


def test_defaults_are_five_seconds_of_480p_video():
    spec = parse_spec({"prompt": "a fox in the snow"})
    assert (spec.type, spec.width, spec.height) == (GenerationType.video_gen, 854, 480)
    assert spec.n_frames == 120 and spec.fps == 24 and spec.seconds == 5
    assert spec.n_variants == 1 and spec.seed is None


def test_image_gen_defaults_to_one_frame_and_refuses_more():
    assert parse_spec({"prompt": "x", "type": "image_gen"}).n_frames == 1
    with pytest.raises(SpecError) as e:
        parse_spec({"prompt": "x", "type": "image_gen", "n_frames": 30})
    assert e.value.field == "n_frames" and "1" in str(e.value)


def test_default_frame_count_follows_fps():
    assert parse_spec({"prompt": "x", "fps": 30}).n_frames == 150


@pytest.mark.parametrize(
    ("fields", "field", "words"),
    [
        ({"prompt": ""}, "prompt", "at least 1"),
        ({"prompt": "   "}, "prompt", "whitespace"),
        ({"prompt": "x" * 32_001}, "prompt", "32000"),
        ({"width": 853}, "width", "even"),
        ({"height": 481}, "height", "even"),
        ({"width": 8}, "width", "16"),
        ({"width": 4000}, "width", "1920"),
        ({"width": 1920, "height": 1200}, "height", "1080"),
        ({"n_variants": 5}, "n_variants", "4"),
        ({"n_variants": 0}, "n_variants", "1"),
        ({"fps": 120}, "fps", "60"),
        ({"n_frames": 1500, "fps": 24}, "n_frames", "60 s"),
        ({"seed": -1}, "seed", "0"),
        ({"preset": "fast"}, "preset", "'turbo' or 'quality'"),
        ({"type": "gif"}, "type", "video_gen"),
        ({"operation": "teleport"}, "operation", "simple_compose"),
        ({"operation": "remix"}, "source", "generation_ids"),
        ({"operation": "storyboard"}, "storyboard", "at least one shot"),
        ({"colour": "red"}, "colour", "not permitted"),
    ],
)
def test_bad_input_names_the_field(fields, field, words):
    with pytest.raises(SpecError) as e:
        parse_spec({"prompt": "a fox", **fields})
    assert e.value.field == field
    assert words in str(e.value)


def test_nested_errors_carry_their_path():
    with pytest.raises(SpecError) as e:
        parse_spec(
            {
                "prompt": "x",
                "inpaint_items": [{"type": "image", "upload_id": "u", "frame_index": 500}],
            }
        )
    assert e.value.field == "inpaint_items.0.frame_index" and "0..119" in str(e.value)
    with pytest.raises(SpecError) as e:
        parse_spec({"prompt": "x", "inpaint_items": [{"type": "image"}]})
    assert e.value.field == "inpaint_items.0" and "upload_id" in str(e.value)
    with pytest.raises(SpecError) as e:
        parse_spec(
            {
                "prompt": "x",
                "inpaint_items": [
                    {"type": "image", "upload_id": "u", "crop_bounds": {"bounds": [0.5, 0, 0.2, 1]}}
                ],
            }
        )
    assert e.value.field == "inpaint_items.0.crop_bounds.bounds"


def test_storyboard_shots_must_start_at_zero_and_increase():
    ok = parse_spec(
        {
            "prompt": "x",
            "operation": "storyboard",
            "storyboard": [{"prompt": "a"}, {"prompt": "b", "start_frame": 60}],
        }
    )
    assert [s.start_frame for s in ok.storyboard] == [0, 60]
    with pytest.raises(SpecError) as e:
        parse_spec(
            {
                "prompt": "x",
                "operation": "storyboard",
                "storyboard": [{"prompt": "a", "start_frame": 60}, {"prompt": "b"}],
            }
        )
    assert e.value.field == "storyboard"


def test_blend_needs_two_sources():
    with pytest.raises(SpecError) as e:
        parse_spec({"prompt": "x", "operation": "blend", "source": {"generation_ids": ["a"]}})
    assert e.value.field == "source.generation_ids"


def test_variant_seeds_are_distinct_and_reproducible():
    spec = parse_spec({"prompt": "x", "n_variants": 4, "seed": 2**32 - 2})
    seeds = spec.variant_seeds(spec.seed)
    assert len(set(seeds)) == 4 and seeds == spec.variant_seeds(spec.seed)
    assert all(0 <= s < 2**32 for s in seeds)


def test_spec_is_immutable():
    spec = GenerationSpec(prompt="x")
    with pytest.raises(ValidationError, match="frozen"):
        spec.width = 640


def test_characters_are_mentioned_by_name_and_cast_into_the_prompt():
    hero = {"name": "hero", "description": "a red star", "id": "char_1"}
    spec = parse_spec(
        {"prompt": "@hero waves; later @char_1 bows, mailing a@b.c.", "characters": [hero]}
    )
    assert spec.cast(spec.prompt) == "a red star waves; later a red star bows, mailing a@b.c."
    assert spec.prompt.startswith("@hero")  # the request keeps what was written


@pytest.mark.parametrize(
    ("fields", "field", "words"),
    [
        ({"prompt": "@ghost waves"}, "prompt", "@ghost"),
        (
            {"prompt": "x", "operation": "storyboard",
             "storyboard": [{"prompt": "x"}, {"prompt": "@ghost", "start_frame": 9}]},
            "storyboard.1.prompt", "@ghost",
        ),
        ({"prompt": "x", "characters": [{"name": "a b", "description": "d"}]},
         "characters.0.name", "ada_lovelace"),
        ({"prompt": "x", "characters": [{"name": "a", "description": "d"}] * 2},
         "characters.1.name", "twice"),
    ],
)  # fmt: skip
def test_character_mistakes_name_the_field(fields, field, words):
    with pytest.raises(SpecError) as caught:
        parse_spec(fields)
    assert caught.value.field == field and words in str(caught.value)


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"n_frames": True}, "n_frames"),  # was a one-frame video
        ({"seed": False}, "seed"),
        ({"fps": True}, "fps"),
        ({"inpaint_items": [{"type": "image", "upload_id": "u", "frame_index": True}]},
         "inpaint_items.0.frame_index"),
        ({"inpaint_items": [{"type": "image", "upload_id": "u",
                             "crop_bounds": {"bounds": [0, 0, True, 1]}}]},
         "inpaint_items.0.crop_bounds.bounds"),
        ({"operation": "remix", "source": {"generation_ids": ["g"], "strength": True}},
         "source.strength"),  # was the strongest remix
        ({"operation": "storyboard", "storyboard": [{"prompt": "x", "start_frame": False}]},
         "storyboard.0.start_frame"),
    ],
)  # fmt: skip
def test_true_or_false_is_never_read_as_a_number(fields, field):
    with pytest.raises(SpecError) as e:
        parse_spec({"prompt": "a fox", **fields})
    assert e.value.field == field and "true or false" in str(e.value)


@pytest.mark.slow  # quotes from 50 MB values
def test_a_long_value_is_quoted_as_an_excerpt():
    with pytest.raises(SpecError) as e:
        parse_spec({"prompt": "a fox " * 1_000_000})
    assert len(str(e.value)) < 200 and "(6000000 characters)" in str(e.value)
