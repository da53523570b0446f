"""The toy world's vocabulary: attribute values, their colours, and every word for them.

One home for the words: ``toyworld`` writes captions from these tables and ``analyse`` parses
prompts with them, so a synonym added here is both generated and understood.

Each value has ``train`` phrases (captions of the training set use only these) and
``paraphrase`` phrases that no training caption ever uses; captions written from the latter
measure whether a model generalises to wording it has never seen. The two sets share no phrase
and no phrase names two values (``tests/models/tiny/test_captions.py`` checks both).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Generic, TypeVar


class Color(StrEnum):
    RED = "red"
    ORANGE = "orange"
    YELLOW = "yellow"
    GREEN = "green"
    BLUE = "blue"
    PURPLE = "purple"
    PINK = "pink"
    WHITE = "white"


class Shape(StrEnum):
    CIRCLE = "circle"
    SQUARE = "square"
    TRIANGLE = "triangle"
    STAR = "star"


class Motion(StrEnum):
    LEFT = "left"
    RIGHT = "right"
    UP = "up"
    DOWN = "down"
    BOUNCING = "bouncing"
    SPINNING = "spinning"
    GROWING = "growing"
    SHRINKING = "shrinking"


class Background(StrEnum):
    STUDIO = "studio"
    SUNSET = "sunset"
    NIGHT = "night"
    OCEAN = "ocean"
    GRASS = "grass"


RGB = tuple[int, int, int]

# Bright, saturated object colours over dark, muted backgrounds (toyworld.BACKGROUNDS).
# Every object colour is >= 100 RGB units from every background pixel and >= 95 from every other
# object colour, AND >= 45 brighter in luma than any background: JPEG and H.264 keep colour at
# half resolution and quantise it hardest, so an object that differs from its background only
# in hue (blue on mid grey) melts into a blob after compression. No outline is needed (an
# outline would pollute the object's colour and shape), and a green object on grass stays clear.
COLOR_RGB: dict[Color, RGB] = {
    Color.RED: (255, 75, 75),
    Color.ORANGE: (255, 150, 0),
    Color.YELLOW: (250, 235, 50),
    Color.GREEN: (80, 230, 80),
    Color.BLUE: (70, 140, 255),
    Color.PURPLE: (170, 80, 250),
    Color.PINK: (255, 150, 200),
    Color.WHITE: (248, 248, 248),
}

V = TypeVar("V")


@dataclass(frozen=True)
class Words(Generic[V]):
    """Phrases for one attribute value, split into training and held-out wording."""

    train: tuple[V, ...]
    paraphrase: tuple[V, ...]

    def pick(self, paraphrase: bool) -> tuple[V, ...]:
        return self.paraphrase if paraphrase else self.train


# A motion phrase comes as (third person, participle): "drifts to the left", "drifting to the
# left", so that templates can use either grammatical slot.
MotionPhrase = tuple[str, str]

COLOR_WORDS: dict[Color, Words[str]] = {
    Color.RED: Words(("red", "crimson", "cherry red"), ("scarlet", "ruby")),
    Color.ORANGE: Words(("orange",), ("tangerine", "amber")),
    Color.YELLOW: Words(("yellow",), ("lemon", "golden")),
    Color.GREEN: Words(("green",), ("emerald", "lime")),
    Color.BLUE: Words(("blue",), ("azure", "cobalt")),
    Color.PURPLE: Words(("purple",), ("violet", "plum")),
    Color.PINK: Words(("pink",), ("rose", "fuchsia")),
    Color.WHITE: Words(("white",), ("ivory", "snowy")),
}

SHAPE_WORDS: dict[Shape, Words[str]] = {
    Shape.CIRCLE: Words(("circle", "disc", "ball", "sphere", "dot"), ("orb", "round token")),
    Shape.SQUARE: Words(("square", "box", "block", "cube"), ("tile", "slab")),
    Shape.TRIANGLE: Words(("triangle", "wedge", "pyramid"), ("delta", "three-sided figure")),
    Shape.STAR: Words(("star",), ("pentagram", "five-pointed figure")),
}

MOTION_WORDS: dict[Motion, Words[MotionPhrase]] = {
    Motion.LEFT: Words(
        (
            ("moves left", "moving left"),
            ("drifts to the left", "drifting to the left"),
            ("goes left", "going left"),
        ),
        (("heads west", "heading west"), ("glides westward", "gliding westward")),
    ),
    Motion.RIGHT: Words(
        (
            ("moves right", "moving right"),
            ("slides rightward", "sliding rightward"),
            ("travels to the right", "travelling to the right"),
        ),
        (("heads east", "heading east"), ("glides eastward", "gliding eastward")),
    ),
    Motion.UP: Words(
        (
            ("moves up", "moving up"),
            ("rises", "rising"),
            ("floats upward", "floating upward"),
            ("goes up", "going up"),
        ),
        (("ascends", "ascending"), ("climbs skyward", "climbing skyward")),
    ),
    Motion.DOWN: Words(
        (
            ("moves down", "moving down"),
            ("falls", "falling"),
            ("sinks", "sinking"),
            ("goes down", "going down"),
        ),
        (("descends", "descending"), ("drops earthward", "dropping earthward")),
    ),
    Motion.BOUNCING: Words(
        (("bounces", "bouncing"), ("hops", "hopping"), ("jumps", "jumping")),
        (("rebounds", "rebounding"), ("bobs", "bobbing")),
    ),
    Motion.SPINNING: Words(
        (("spins", "spinning"), ("rotates", "rotating"), ("turns", "turning")),
        (("twirls", "twirling"), ("whirls around", "whirling around")),
    ),
    Motion.GROWING: Words(
        (
            ("grows", "growing"),
            ("gets bigger", "getting bigger"),
            ("expands", "expanding"),
            ("gets larger", "getting larger"),
        ),
        (("swells", "swelling"), ("enlarges", "enlarging")),
    ),
    Motion.SHRINKING: Words(
        (
            ("shrinks", "shrinking"),
            ("gets smaller", "getting smaller"),
            ("contracts", "contracting"),
        ),
        (("dwindles", "dwindling"), ("diminishes", "diminishing")),
    ),
}

BACKGROUND_WORDS: dict[Background, Words[str]] = {
    Background.STUDIO: Words(("grey studio", "plain backdrop", "studio"), ("neutral stage",)),
    Background.SUNSET: Words(
        ("sunset", "sunset sky", "dusk sky", "evening sky"), ("twilight horizon",)
    ),
    Background.NIGHT: Words(("night sky", "starry sky", "starry night"), ("midnight heavens",)),
    Background.OCEAN: Words(("ocean", "sea", "ocean waves"), ("open water", "rolling surf")),
    Background.GRASS: Words(
        ("grass field", "meadow", "lawn", "field of grass"), ("pasture", "prairie")
    ),
}

# Size adjectives carry no attribute the analyser checks; they vary the wording.
SIZE_WORDS: dict[bool, Words[str]] = {
    False: Words(("small", "little"), ("tiny", "petite")),
    True: Words(("large", "big"), ("huge", "sizeable")),
}

# Words people type that no caption uses; the parser understands them too.
PROMPT_ONLY_WORDS: dict[type[StrEnum], dict[str, StrEnum]] = {
    Color: {},
    # No "stars": "under the stars" is a night sky, not a shape.
    Shape: {"circles": Shape.CIRCLE, "squares": Shape.SQUARE, "triangles": Shape.TRIANGLE},
    Motion: {
        "left": Motion.LEFT,
        "leftward": Motion.LEFT,
        "right": Motion.RIGHT,
        "rightward": Motion.RIGHT,
        "up": Motion.UP,
        "upward": Motion.UP,
        "down": Motion.DOWN,
        "downward": Motion.DOWN,
        "bounce": Motion.BOUNCING,
        "spin": Motion.SPINNING,
        "rotate": Motion.SPINNING,
        "grow": Motion.GROWING,
        "shrink": Motion.SHRINKING,
    },
    Background: {"gray studio": Background.STUDIO, "night": Background.NIGHT},
}


def phrases(kind: type[StrEnum]) -> dict[str, StrEnum]:
    """Every phrase, training, paraphrase or prompt-only, that names a value of ``kind``."""
    table: dict[str, StrEnum] = dict(PROMPT_ONLY_WORDS[kind])
    for value, words in _WORD_TABLES[kind].items():
        for phrase in (*words.train, *words.paraphrase):
            forms = phrase if isinstance(phrase, tuple) else (phrase,)
            table.update(dict.fromkeys(forms, value))
    return table


def train_forms(kind: type[StrEnum]) -> dict[StrEnum, tuple[str, ...]]:
    """Every value of ``kind`` -> the phrases training captions use for it, each grammatical
    form of a motion phrase apart ("moves left", "moving left")."""
    out: dict[StrEnum, tuple[str, ...]] = {}
    for value, words in _WORD_TABLES[kind].items():
        out[value] = tuple(f for p in words.train for f in (p if isinstance(p, tuple) else (p,)))
    return out


_WORD_TABLES: dict[type[StrEnum], Mapping[Any, Words[Any]]] = {
    Color: COLOR_WORDS,
    Shape: SHAPE_WORDS,
    Motion: MOTION_WORDS,
    Background: BACKGROUND_WORDS,
}
