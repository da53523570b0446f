"""The prompt reader: free wording about the toy world, read onto its training words."""

from __future__ import annotations

import re

import pytest

from cinegen.models.tiny import reader
from cinegen.models.tiny.captions import PARAPHRASE_TEMPLATES, TRAIN_TEMPLATES
from cinegen.models.tiny.prompt import parse_prompt
from cinegen.models.tiny.reader import FILLER, KINDS, encoder_similarity, read, word_table
from cinegen.models.tiny.vocab import (
    BACKGROUND_WORDS,
    COLOR_WORDS,
    MOTION_WORDS,
    SHAPE_WORDS,
    SIZE_WORDS,
    Background,
    Color,
    Motion,
    Shape,
)

B, C, S, M = Background, Color, Shape, Motion

# Written here, not drawn from eval-tiny's splits: any order, filler, punctuation, case.
FREE = [
    ("a blue circle rises up over a plain white background", C.BLUE, S.CIRCLE, M.UP, B.STUDIO),
    ("pink square heading right on a black background", C.PINK, S.SQUARE, M.RIGHT, B.NIGHT),
    ("night sky full of stars; a white star drifts upward", C.WHITE, S.STAR, M.UP, B.NIGHT),
    ("Red ball, bouncing!! On the beach.", C.RED, S.CIRCLE, M.BOUNCING, B.OCEAN),
    ("Sunset. Purple box. Shrinking.", C.PURPLE, S.SQUARE, M.SHRINKING, B.SUNSET),
    ("the navy cube slides to the left in an empty room", C.BLUE, S.SQUARE, M.LEFT, B.STUDIO),
    ("GREEN STAR GROWING AT DUSK", C.GREEN, S.STAR, M.GROWING, B.SUNSET),
    (
        "in a meadow, there's a really big yellow triangle that just keeps on spinning",
        C.YELLOW,
        S.TRIANGLE,
        M.SPINNING,
        B.GRASS,
    ),
    (
        "downwards it goes: a lavender wedge, plunging through outer space",
        C.PURPLE,
        S.TRIANGLE,
        M.DOWN,
        B.NIGHT,
    ),
]


def _no_encoder(queries: list[str], keys: list[str]):
    raise AssertionError(f"the word lists should place these, not the encoder: {queries}")


@pytest.mark.parametrize(("text", "color", "shape", "motion", "background"), FREE)
def test_free_sentences_are_read_onto_the_worlds_values(text, color, shape, motion, background):
    reading = read(text, similarity=_no_encoder)
    assert reading.given == text
    assert reading.objects == ((color, shape, motion),) and reading.background == background
    # The caption rendered from is in training words, and says the same again.
    again = parse_prompt(reading.prompt)
    assert (again.color, again.shape, again.motion, again.background) == (
        color,
        shape,
        motion,
        background,
    )
    assert read(reading.prompt, similarity=_no_encoder).prompt == reading.prompt


def test_two_objects_keep_their_own_attributes():
    reading = read("a red ball moving left while a blue box falls, in a park", _no_encoder)
    assert reading.objects == ((C.RED, S.CIRCLE, M.LEFT), (C.BLUE, S.SQUARE, M.DOWN))
    assert reading.prompt == (
        "a red circle moves left while a blue square moves down, grass field background"
    )


def test_a_prompt_with_nothing_to_draw_is_left_as_written():
    text = "A zorblax quivers near the thingamajig."
    reading = read(text)
    assert reading.prompt == text and reading.objects == ()
    assert {"zorblax", "quivers", "thingamajig"} <= set(reading.unplaced)


def test_unknown_words_beside_known_ones_are_listed_not_guessed():
    reading = read("a red circle and a dog, moving up")
    assert reading.objects == ((C.RED, S.CIRCLE, M.UP),) and "dog" in reading.unplaced
    assert reading.prompt == "a red circle moves up"  # no background was asked: none is said


@pytest.mark.parametrize(
    "word",
    [
        "dog",
        "house",
        "slowly",
        "camera",
        "person",
        "happy",
        "walking",
        "quickly",
        "car",
        "beautiful",
        "really",
        "looks",
        "frame",
        "screen",
        "colour",
        "moving",
        "animation",
        "sofa",
        "kitchen",
        "sitting",
        "disappears",
    ],
)
def test_ordinary_words_are_not_placed_by_the_encoder(word):
    """MIN_CONTRAST sits above the contrast such words reach (measured: 0.01 to 0.15)."""
    assert reader._place([(0, word)], list(KINDS), encoder_similarity) == []


@pytest.mark.parametrize(
    ("word", "background"), [("savanna", B.GRASS), ("shoreline", B.OCEAN), ("dawn", B.SUNSET)]
)
def test_the_encoder_places_a_word_no_list_holds(word, background):
    assert word not in word_table()
    assert read(f"a red circle moves left over the {word}").background == background


def _words(text: str) -> set[str]:
    return set(re.findall(r"[a-z]+", re.sub(r"\{.*?\}", " ", text.lower())))


def _phrase_words(paraphrase: bool) -> set[str]:
    tables = (COLOR_WORDS, SHAPE_WORDS, MOTION_WORDS, BACKGROUND_WORDS, SIZE_WORDS)
    out: set[str] = set()
    for table in tables:
        for words in table.values():
            for phrase in words.pick(paraphrase):
                for form in phrase if isinstance(phrase, tuple) else (phrase,):
                    out |= _words(form)
    templates = PARAPHRASE_TEMPLATES if paraphrase else TRAIN_TEMPLATES
    return out | {w for group in templates.values() for t in group for w in _words(t)}


def test_no_list_holds_a_word_of_the_new_wordings_split():
    """eval-tiny's new-wordings split stays a held-out test of the reader too."""
    held_out = _phrase_words(True) - _phrase_words(False) - {"a", "an"}  # articles: captions'
    listed = set(FILLER) | {w for phrase in word_table() for w in _words(phrase)}
    assert listed & held_out == set()


def test_a_size_word_is_not_read_as_growing():
    """The encoder finds "big" near "growing" (contrast 0.29): sizes are filler."""
    assert read("a big red ball over the ocean").objects == ((C.RED, S.CIRCLE, None),)


def test_each_word_goes_to_the_kind_it_is_most_like():
    """A word like both a colour and a background is placed once, as the one it is nearer."""
    anchors = {
        kind: {reader.CONTEXT[kind].format(p) for _, p in reader.anchors(kind)} for kind in KINDS
    }

    def fake(queries: list[str], keys: list[str]):
        import torch

        kind = next(k for k in KINDS if set(keys) <= anchors[k])
        near = {C: "the colour navy", B: "in front of the beach"}.get(kind)
        strength = {C: 0.5, B: 0.9}.get(kind, 0.0)
        return torch.tensor([[strength * (k == near) for k in keys] for _ in queries])

    reading = read("a circle by the glimmer", similarity=fake)
    assert reading.background == B.OCEAN and reading.objects == ((None, S.CIRCLE, None),)


@pytest.mark.parametrize(
    "text",
    ["a red circle bouncing in a grey studio", "a blue square rises over the ocean"],
)
def test_the_models_own_words_are_rendered_as_written(text):
    # What v3 followed renders as it did before the reader (bench/operations.py's figures).
    reading = read(text)
    assert reading.prompt == text
    assert reading.objects and reading.background is not None


def test_a_sentence_with_an_everyday_word_is_said_in_the_models_words():
    reading = read("a blue circle rises up over a plain white background")
    assert reading.prompt == "a blue circle moves up over the grey studio"


@pytest.mark.parametrize(
    ("text", "objects", "background"),
    [
        ("a ball hopped", ((None, S.CIRCLE, M.BOUNCING),), None),  # hops
        ("a cube bounced over the meadows", ((None, S.SQUARE, M.BOUNCING),), B.GRASS),
        ("pale blue box", ((C.BLUE, S.SQUARE, None),), None),  # one colour, said in two words
        ("a red ball on a pink background", ((C.RED, S.CIRCLE, None),), None),
        ("a red ball in a white room", ((C.RED, S.CIRCLE, None),), B.STUDIO),
        ("a star jumps up", ((None, S.STAR, M.BOUNCING),), None),  # not a second motion
        ("a star drifts from right to left", ((None, S.STAR, M.LEFT),), None),
        ("a box travels toward the top", ((None, S.SQUARE, M.UP),), None),
        # no sage (a green); WordNet: to sag is to sink
        ("a red ball sags over the meadows", ((C.RED, S.CIRCLE, M.DOWN),), B.GRASS),
    ],
)
def test_inflections_and_phrases_are_read_as_one_value(text, objects, background):
    unlisted = ("drifts", "travels", "sags")  # the encoder is asked about these
    reading = read(text, None if any(w in text for w in unlisted) else _no_encoder)
    assert reading.objects == objects and reading.background == background


def test_an_unlisted_word_names_only_what_its_form_allows():
    """A word in -ing names no place ("sitting" on a "sofa" is no studio), and a noun no
    motion: the encoder is asked only where the word's form fits the kind."""
    assert not reader._may_name("sitting", B) and not reader._may_name("noon", M)
    assert reader._may_name("savanna", B) and reader._may_name("swerves", M)
    assert read("a cat sitting on a sofa").objects == ()
