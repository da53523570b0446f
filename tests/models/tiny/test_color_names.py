"""Colour names from the XKCD survey, read onto the world's eight colours."""

from __future__ import annotations

import re

import pytest

from cinegen.models.tiny.color_names import cielab, color_names, survey
from cinegen.models.tiny.everyday import EVERYDAY
from cinegen.models.tiny.reader import read, word_table
from cinegen.models.tiny.vocab import Color, Motion, Shape

C = Color


def test_the_survey_ships_its_949_names():
    names = survey()
    assert len(names) == 949
    assert names["cobalt"] == (0x1E, 0x48, 0x8F)


def test_cielab_of_white_and_black():
    assert cielab([255, 255, 255]) == pytest.approx([100.0, 0.0, 0.0], abs=0.05)
    assert cielab([0, 0, 0]) == pytest.approx([0.0, 0.0, 0.0], abs=0.05)


@pytest.mark.parametrize(
    ("name", "color"),
    [
        ("cobalt", C.BLUE),
        ("navy", C.BLUE),
        ("tomato", C.RED),
        ("mustard", C.YELLOW),
        ("mint", C.GREEN),
        ("lilac", C.PURPLE),
        ("bubblegum", C.PINK),
        ("cream", C.WHITE),  # very light, weakly coloured
        ("pumpkin", C.ORANGE),
        ("chocolate", None),  # brown: the world draws none
        ("charcoal", None),  # grey
        ("black", None),
    ],
)
def test_a_survey_name_reads_as_the_colour_it_looks(name, color):
    assert color_names()[name] == color


def test_each_world_colours_name_reads_as_itself():
    """The survey's own "red", "orange"... read as the world's colour of that name."""
    table = color_names()
    for color in Color:
        assert table[color.value] == color


def test_the_survey_mostly_agrees_with_the_hand_written_colour_words():
    """Of the reader's own colour words the survey names too, most read the same (83%
    measured; the rest are shades either way: "teal", "magenta")."""
    table = color_names()
    pairs = [(w, v) for v, words in EVERYDAY[Color].items() for w in words if w in table]
    assert len(pairs) >= 60
    same = sum(table[w] == v for w, v in pairs)
    assert same / len(pairs) >= 0.8


@pytest.mark.parametrize(
    ("text", "color", "shape"),
    [
        ("a cobalt ball bouncing on the beach", C.BLUE, Shape.CIRCLE),
        ("dusty rose triangle spinning", C.PINK, Shape.TRIANGLE),  # a two-word name
        ("the tangerine cube drifting in the midnight gloom", C.ORANGE, Shape.SQUARE),
        ("a chocolate box", None, Shape.SQUARE),  # no brown here: left as written
        ("a fuchsia box", C.PINK, Shape.SQUARE),  # a word the encoder cannot read whole
        ("a cobalt wall with a red star", C.RED, Shape.STAR),  # the wall's colour, not the star's
        # a colour named beats one guessed: the encoder surely takes "horizon" for a blue
        ("a tangerine ball rises at dusk near the horizon", C.ORANGE, Shape.CIRCLE),
        ("a huge tangerine kite twirls at nightfall by the horizon", C.ORANGE, None),
        # a name said as a colour is that colour, whatever else the encoder takes it for
        ("round rose-coloured dot expanding against a grey backdrop", C.PINK, Shape.CIRCLE),
        ("a plum-colored box", C.PURPLE, Shape.SQUARE),
        ("a chocolate-coloured box", None, Shape.SQUARE),  # brown: no colour here
    ],
)
def test_the_reader_takes_colour_names_from_the_survey(text, color, shape):
    reading = read(text)
    assert reading.objects[0][:2] == (color, shape)


def test_a_listed_colour_said_as_a_colour_leaves_nothing_unread():
    reading = read("a red-colored star falls")
    assert reading.objects == ((C.RED, Shape.STAR, Motion.DOWN),) and reading.unplaced == ()


def test_a_colour_name_the_encoder_takes_for_a_place_stays_a_place():
    """ "midnight" is a survey colour (a dark blue) but, here, the night sky."""
    reading = read("a tangerine cube in the midnight gloom")
    assert reading.objects[0][0] == C.ORANGE
    assert reading.background is not None and reading.background.value == "night"


def test_every_survey_name_reads_without_error_as_its_colour_or_none():
    """A name alone or before a shape, whatever the encoder makes of it (a seventh of the
    names, spread over the alphabet): the object's colour is the survey's or none. (A name
    holding a listed word, "bluey purple", takes that word's colour: the lists come first.)"""
    table = color_names()
    for name in sorted(table)[::7]:
        assert read(name).given == name
        if re.search(r"[^a-z ]", name) or set(name.split()) & set(word_table()):
            continue
        reading = read(f"a {name} box")
        assert reading.objects[0][0] in (table[name], None), name
