"""Captions name the scene's attributes in many phrasings, paraphrases use only unseen words,
and the prompt parser reads every caption back to the scene it describes."""

from __future__ import annotations

import re

import numpy as np
import pytest

from cinegen.models.tiny.analyse import PromptAttributes, parse_prompt
from cinegen.models.tiny.captions import PARAPHRASE_TEMPLATES, TRAIN_TEMPLATES
from cinegen.models.tiny.toyworld import (
    Background,
    Color,
    Motion,
    ObjectSpec,
    Scene,
    Shape,
    Split,
    caption,
    sample_scene,
)
from cinegen.models.tiny.vocab import (
    BACKGROUND_WORDS,
    COLOR_WORDS,
    MOTION_WORDS,
    SHAPE_WORDS,
    SIZE_WORDS,
    phrases,
)

_TABLES = (COLOR_WORDS, SHAPE_WORDS, BACKGROUND_WORDS, SIZE_WORDS)


def _phrases(paraphrase: bool) -> set[str]:
    found = {p for table in _TABLES for words in table.values() for p in words.pick(paraphrase)}
    for words in MOTION_WORDS.values():
        found |= {form for pair in words.pick(paraphrase) for form in pair}
    return found


def _mentions(text: str, phrases: set[str]) -> set[str]:
    return {p for p in phrases if re.search(rf"(?<![a-z]){re.escape(p)}(?![a-z])", text)}


def test_training_and_paraphrase_wording_share_nothing() -> None:
    assert not _phrases(False) & _phrases(True)
    for n in (1, 2):
        assert not set(TRAIN_TEMPLATES[n]) & set(PARAPHRASE_TEMPLATES[n])


@pytest.mark.parametrize("paraphrase", [False, True])
def test_captions_use_only_their_own_wording(paraphrase: bool) -> None:
    rng = np.random.default_rng(10)
    foreign = _phrases(not paraphrase)
    for _ in range(500):
        text = caption(sample_scene(rng), rng, paraphrase=paraphrase)
        assert not _mentions(text, foreign), text


@pytest.mark.parametrize("split", ["train", "heldout"])
@pytest.mark.parametrize("paraphrase", [False, True])
def test_parser_reads_every_caption_back(split: Split, paraphrase: bool) -> None:
    rng = np.random.default_rng(11)
    for _ in range(1000):
        scene = sample_scene(rng, split)
        text = caption(scene, rng, paraphrase=paraphrase)
        first = scene.objects[0]
        assert parse_prompt(text) == PromptAttributes(
            scene.background, first.color, first.shape, first.motion
        ), text


def test_one_scene_has_many_phrasings() -> None:
    rng = np.random.default_rng(12)
    scene = Scene(
        Background.OCEAN, (ObjectSpec(Color.RED, Shape.CIRCLE, Motion.LEFT, 0.3, 0.5, 0.5),)
    )
    assert len({caption(scene, rng) for _ in range(300)}) >= 50
    assert len({caption(scene, rng, paraphrase=True) for _ in range(300)}) >= 30


@pytest.mark.parametrize(
    ("prompt", "expected"),
    [
        (
            "a red circle drifts to the left over the ocean",
            PromptAttributes(Background.OCEAN, Color.RED, Shape.CIRCLE, Motion.LEFT),
        ),
        (
            "Ocean scene: small red ball moving left.",
            PromptAttributes(Background.OCEAN, Color.RED, Shape.CIRCLE, Motion.LEFT),
        ),
        (
            "A crimson disc slides leftward above the sea",
            PromptAttributes(Background.OCEAN, Color.RED, Shape.CIRCLE, Motion.LEFT),
        ),
        (
            "two objects: a blue star spinning and a pink box falling, starry night",
            PromptAttributes(Background.NIGHT, Color.BLUE, Shape.STAR, Motion.SPINNING),
        ),
        ("a yellow thing", PromptAttributes(color=Color.YELLOW)),
        ("a starry sky", PromptAttributes(background=Background.NIGHT)),
        ("nothing we know", PromptAttributes()),
    ],
)
def test_parser_reads_hand_written_prompts(prompt: str, expected: PromptAttributes) -> None:
    assert parse_prompt(prompt) == expected


def test_named_lists_only_what_the_prompt_says() -> None:
    assert parse_prompt("a green wedge on the lawn").named() == {
        "background": Background.GRASS,
        "color": Color.GREEN,
        "shape": Shape.TRIANGLE,
    }


@pytest.mark.parametrize("paraphrase", [False, True])
def test_two_object_captions_name_both_objects(paraphrase: bool) -> None:
    rng = np.random.default_rng(13)
    for _ in range(300):
        scene = sample_scene(rng, n_objects=2)
        text = caption(scene, rng, paraphrase=paraphrase)
        for kind, field in ((Color, "color"), (Shape, "shape"), (Motion, "motion")):
            named = {phrases(kind)[p] for p in _mentions(text, set(phrases(kind)))}
            assert named == {getattr(obj, field) for obj in scene.objects}, text
