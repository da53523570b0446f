"""The prompt reader on sentences people would type about the toy world: a development set.

Written from general English for this file, not drawn from ``cinegen eval-tiny``'s splits
(its new-wordings split is a held-out test: no list the reader uses may hold its words).
Each row is what the sentence asks for; None where it says nothing of that kind, so that a
value read into a sentence that never asked for one counts as a wrong placement.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

import pytest

from cinegen.models.tiny.reader import Reading, read
from cinegen.models.tiny.vocab import Background, Color, Motion, Shape

B, C, S, M = Background, Color, Shape, Motion

Row = tuple[str, Color | None, Shape | None, Motion | None, Background | None]

SENTENCES: list[Row] = [
    # plain, in everyday words
    ("a red ball bouncing on the beach", C.RED, S.CIRCLE, M.BOUNCING, B.OCEAN),
    ("Blue squares moving to the left against a starry sky", C.BLUE, S.SQUARE, M.LEFT, B.NIGHT),
    ("make a yellow star spin slowly in a field", C.YELLOW, S.STAR, M.SPINNING, B.GRASS),
    ("an orange triangle that goes up, sunset behind it", C.ORANGE, S.TRIANGLE, M.UP, B.SUNSET),
    ("green circle getting bigger and bigger", C.GREEN, S.CIRCLE, M.GROWING, None),
    ("purple cube shrinking slowly", C.PURPLE, S.SQUARE, M.SHRINKING, None),
    ("I want a pink star that jumps up and down on the lawn", C.PINK, S.STAR, M.BOUNCING, B.GRASS),
    ("white dot floating up into the night", C.WHITE, S.CIRCLE, M.UP, B.NIGHT),
    ("a cranberry sphere sliding to the right", C.RED, S.CIRCLE, M.RIGHT, None),
    ("Show me a crimson square falling down over the sea.", C.RED, S.SQUARE, M.DOWN, B.OCEAN),
    ("mustard yellow triangle drifting downward", C.YELLOW, S.TRIANGLE, M.DOWN, None),
    ("a mint circle revolving in a grassy meadow", C.GREEN, S.CIRCLE, M.SPINNING, B.GRASS),
    ("lilac star, swirling, under the stars", C.PURPLE, S.STAR, M.SPINNING, B.NIGHT),
    ("a hot pink box hopping about", C.PINK, S.SQUARE, M.BOUNCING, None),
    ("a cream ball that slowly gets larger", C.WHITE, S.CIRCLE, M.GROWING, None),
    # terse, any order, punctuation
    ("square, blue, moving right, ocean", C.BLUE, S.SQUARE, M.RIGHT, B.OCEAN),
    ("Red. Circle. Left.", C.RED, S.CIRCLE, M.LEFT, None),
    ("a circle", None, S.CIRCLE, None, None),
    ("a sunset", None, None, None, B.SUNSET),
    ("a shape moving left", None, None, M.LEFT, None),
    ("A GREEN SQUARE SPINNING IN CIRCLES.", C.GREEN, S.SQUARE, M.SPINNING, None),
    ("Please render: white triangle / spinning / meadow", C.WHITE, S.TRIANGLE, M.SPINNING, B.GRASS),
    ("Sapphire circle, rotating, sky full of stars", C.BLUE, S.CIRCLE, M.SPINNING, B.NIGHT),
    # directions said as phrases
    ("A triangle soaring upward at sunset", None, S.TRIANGLE, M.UP, B.SUNSET),
    ("A circle sliding toward the bottom", None, S.CIRCLE, M.DOWN, None),
    ("a red thing sliding from left to right", C.RED, None, M.RIGHT, None),
    ("from right to left, a green star drifts", C.GREEN, S.STAR, M.LEFT, None),
    ("the star travels toward the top of the frame", None, S.STAR, M.UP, None),
    ("an orange box that moves from the top to the bottom", C.ORANGE, S.SQUARE, M.DOWN, None),
    (
        "a purple star moving toward the right side of the screen",
        C.PURPLE,
        S.STAR,
        M.RIGHT,
        None,
    ),
    ("a triangle sliding leftward on a grey background", None, S.TRIANGLE, M.LEFT, B.STUDIO),
    ("a teal square zooming leftwards", C.BLUE, S.SQUARE, M.LEFT, None),
    ("a blue ring moving up the screen", C.BLUE, S.CIRCLE, M.UP, None),
    ("a pink triangle flying upward", C.PINK, S.TRIANGLE, M.UP, None),
    ("slowly, slowly, the green triangle creeps to the right", C.GREEN, S.TRIANGLE, M.RIGHT, None),
    # other verbs and phrases for motions
    ("a jade triangle lifting off at dusk", C.GREEN, S.TRIANGLE, M.UP, B.SUNSET),
    ("blue disk diving slowly on a dark background", C.BLUE, S.CIRCLE, M.DOWN, B.NIGHT),
    ("a rotating pink pyramid in space", C.PINK, S.TRIANGLE, M.SPINNING, B.NIGHT),
    (
        "little yellow dot expanding in the middle of a field of flowers",
        C.YELLOW,
        S.CIRCLE,
        M.GROWING,
        B.GRASS,
    ),
    ("large purple square contracting on the grass", C.PURPLE, S.SQUARE, M.SHRINKING, B.GRASS),
    ("the sun sets while an orange ball spins", C.ORANGE, S.CIRCLE, M.SPINNING, B.SUNSET),
    ("waves crash behind a white star that moves upwards", C.WHITE, S.STAR, M.UP, B.OCEAN),
    (
        "could you animate a blue triangle bouncing up and down, please?",
        C.BLUE,
        S.TRIANGLE,
        M.BOUNCING,
        None,
    ),
    ("just a pink star on a plain background, not moving", C.PINK, S.STAR, None, B.STUDIO),
    (
        "a yellow square getting smaller and smaller until it disappears",
        C.YELLOW,
        S.SQUARE,
        M.SHRINKING,
        None,
    ),
    ("a green ball that keeps on growing, set in a park", C.GREEN, S.CIRCLE, M.GROWING, B.GRASS),
    ("A big red spherical object hops", C.RED, S.CIRCLE, M.BOUNCING, None),
    (
        "a square-shaped blue block turning slowly, in a white room",
        C.BLUE,
        S.SQUARE,
        M.SPINNING,
        B.STUDIO,
    ),
    ("a small white square sinking into the lake", C.WHITE, S.SQUARE, M.DOWN, B.OCEAN),
    (
        "an orange circle revolves in circles under the evening sky",
        C.ORANGE,
        S.CIRCLE,
        M.SPINNING,
        B.SUNSET,
    ),
    ("pink circles inflating on a green lawn", C.PINK, S.CIRCLE, M.GROWING, B.GRASS),
    ("blue star moving downward against the dark sky", C.BLUE, S.STAR, M.DOWN, B.NIGHT),
    ("a red triangle going upwards in a studio", C.RED, S.TRIANGLE, M.UP, B.STUDIO),
    (
        "there is a white circle and it is rising slowly over the grassland",
        C.WHITE,
        S.CIRCLE,
        M.UP,
        B.GRASS,
    ),
    ("a yellow star, moving to the right, on the seashore", C.YELLOW, S.STAR, M.RIGHT, B.OCEAN),
    ("purple ball bounces along the lakeshore", C.PURPLE, S.CIRCLE, M.BOUNCING, B.OCEAN),
    ("a cranberry star ballooning in size", C.RED, S.STAR, M.GROWING, None),
    (
        "a bright yellow circle moving downwards on an empty white background",
        C.YELLOW,
        S.CIRCLE,
        M.DOWN,
        B.STUDIO,
    ),
    (
        "a lilac square on a sandy beach, jumping up and down",
        C.PURPLE,
        S.SQUARE,
        M.BOUNCING,
        B.OCEAN,
    ),
    ("a red square becomes smaller", C.RED, S.SQUARE, M.SHRINKING, None),
    ("a pale blue star on a yellow background", C.BLUE, S.STAR, None, None),
    ("a white room with a red cube jumping up", C.RED, S.SQUARE, M.BOUNCING, B.STUDIO),
    ("the pink triangles hopped over the meadows", C.PINK, S.TRIANGLE, M.BOUNCING, B.GRASS),
    # nothing of this world: nothing may be read into them
    ("a cat sitting on a sofa", None, None, None, None),
    ("a man walking his dog in the city", None, None, None, None),
    ("a fast car on the highway at noon", None, None, None, None),
    ("a beautiful landscape with mountains", None, None, None, None),
    ("a robot dancing in the kitchen", None, None, None, None),
    ("an abstract animation", None, None, None, None),
]

KIND_NAMES = ("color", "shape", "motion", "background")


def _got(reading: Reading) -> tuple[object, ...]:
    color, shape, motion = reading.objects[0] if reading.objects else (None, None, None)
    return color, shape, motion, reading.background


def placement(rows: Sequence[Row]) -> dict[str, dict[str, float]]:
    """Per kind: the share of sentences that ask for one whose value is read right
    (``right``), and the share of all sentences given a value they did not ask for
    (``wrong``: another value, or one where none was said)."""
    right = dict.fromkeys(KIND_NAMES, 0)
    asked = dict.fromkeys(KIND_NAMES, 0)
    wrong = dict.fromkeys(KIND_NAMES, 0)
    extra = 0  # every sentence here asks for one object at most: a second one is wrong
    for text, *want in rows:
        reading = read(text)
        extra += len(reading.objects) > 1
        for name, w, g in zip(KIND_NAMES, want, _got(reading), strict=True):
            asked[name] += w is not None
            right[name] += w is not None and g == w
            wrong[name] += g is not None and g != w
    out = {
        name: {"right": right[name] / asked[name], "wrong": wrong[name] / len(rows)}
        for name in KIND_NAMES
    }
    return out | {"second object": {"wrong": extra / len(rows)}}


@pytest.fixture(scope="module")
def measured() -> dict[str, dict[str, float]]:
    return placement(SENTENCES)


# Measured on this set (2026-12-07, the frozen encoder on CPU): every colour, shape and motion
# asked for is read, 36 of 37 backgrounds ("lakeshore": the encoder spells it in pieces); one
# value is read that nobody asked for ("noon": sunset). Before the inflections, phrases, form
# cues and ``_tidy``: 91/95/88/95% read, a wrong motion in 9% of the sentences, a second
# object in 14%.
LEAST_RIGHT = {"color": 0.95, "shape": 0.95, "motion": 0.95, "background": 0.95}
MOST_WRONG = {"color": 0.02, "shape": 0.02, "motion": 0.02, "background": 0.02}


@pytest.mark.parametrize("kind", KIND_NAMES)
def test_most_values_asked_for_are_read(measured, kind):
    assert measured[kind]["right"] >= LEAST_RIGHT[kind], measured


@pytest.mark.parametrize("kind", KIND_NAMES)
def test_a_value_nobody_asked_for_is_rarely_read(measured, kind):
    assert measured[kind]["wrong"] <= MOST_WRONG[kind], measured


def test_one_object_asked_for_is_drawn_once(measured):
    """ "from right to left", "on a green lawn", "pale blue", "a white room" are one
    object's words, or the place's, not a second object's."""
    assert measured["second object"]["wrong"] == 0.0, measured


NOON = pytest.mark.xfail(
    strict=True, reason="the encoder finds noon as near sunset (0.136) as dawn is (0.138)"
)


@pytest.mark.parametrize(
    "text",
    [
        pytest.param(row[0], marks=[NOON] if "noon" in row[0] else [])
        for row in SENTENCES
        if row[1:] == (None, None, None, None)
    ],
)
def test_a_sentence_about_nothing_here_is_rendered_as_typed(text):
    reading = read(text)
    assert reading.objects == () and reading.background is None and reading.prompt == text


# A second set, written apart: 80 sentences by a helper that saw neither the reader's lists
# nor eval-tiny's splits, only the world's values (one object each, every kind named).
# Measured 2026-12-08: 95.0% of all values read with WordNet's words, 88.4% before them;
# then "<name>-coloured" was read as the name, after seeing this set's misses, so it is no
# longer unseen: colour 99%, shape 92% (five "five-pointed shape"s), motion 96%, background
# 98%, one wrong motion and one wrong background.
APART = Path(__file__).with_name("sentences_written_apart.json")


@pytest.fixture(scope="module")
def measured_apart() -> dict[str, dict[str, float]]:
    rows = json.loads(APART.read_text())
    kinds = {"color": C, "shape": S, "motion": M, "background": B}
    return placement([(r["text"], *(kinds[k](r[k]) for k in KIND_NAMES)) for r in rows])


@pytest.mark.parametrize("kind", KIND_NAMES)
def test_sentences_written_apart_are_read(measured_apart, kind):
    assert measured_apart[kind]["right"] >= 0.9, measured_apart
    assert measured_apart[kind]["wrong"] <= 0.02, measured_apart
