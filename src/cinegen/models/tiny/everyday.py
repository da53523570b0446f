"""The prompt reader's own words (``reader``): everyday names for the toy world's values,
and filler words that name nothing.

Written from general English, not from ``cinegen eval-tiny``'s prompts. Trap: no word here
may be a word of ``vocab``'s ``paraphrase`` phrases or of ``captions.PARAPHRASE_TEMPLATES``
(``tests/models/tiny/test_reader.py`` checks it): those are the eval's new-wordings split,
a held-out test of the reader as much as of the network.
"""

from __future__ import annotations

import functools
from enum import StrEnum

from cinegen.models.tiny.vocab import (
    PROMPT_ONLY_WORDS,
    Background,
    Color,
    Motion,
    Shape,
    train_forms,
)


def _list(text: str) -> tuple[str, ...]:
    return tuple(w.strip() for w in text.split(","))


def _spaced(text: str) -> list[str]:
    return text.split()


def _toward(places: str) -> tuple[str, ...]:
    """ "to the top", "toward the top", "towards top"...: a motion said as where it ends."""
    return tuple(
        f"{to} {the}{place}"
        for place in _list(places)
        for to in ("to", "toward", "towards")
        for the in ("the ", "")
    )


# "plain", "white" and "grey" backgrounds become the grey studio (the world's only neutral
# backdrop); "black" and "dark" ones the night sky (the darkest backdrop; it has a few
# small stars).
EVERYDAY: dict[type[StrEnum], dict[StrEnum, tuple[str, ...]]] = {
    Color: {
        Color.RED: _list(
            "maroon, cherry, blood red, brick red, tomato red, reddish, burgundy, "
            "vermilion, garnet, carmine, cardinal, strawberry, wine red, cranberry, "
            "fire red"
        ),
        Color.ORANGE: _list(
            "peach, apricot, carrot, pumpkin, orangey, orangish, marigold, saffron, copper, "
            "rust, ochre, clementine, burnt orange"
        ),
        Color.YELLOW: _list(
            "gold, mustard, canary, banana, sunflower, yellowish, butter, buttercup, "
            "daffodil, blond, straw, sunshine yellow"
        ),
        Color.GREEN: _list(
            "olive, mint, jade, forest green, leafy, greenish, teal green, sage, pine, "
            "chartreuse, kelly green, leaf green, pea green, moss, avocado"
        ),
        Color.BLUE: _list(
            "navy, sky blue, sapphire, turquoise, cyan, teal, bluish, cerulean, denim, "
            "royal blue, ultramarine, cornflower, indigo blue, baby blue, "
            "powder blue, electric blue"
        ),
        Color.PURPLE: _list(
            "lavender, lilac, mauve, indigo, grape, amethyst, magenta, orchid, eggplant, "
            "aubergine, purplish"
        ),
        Color.PINK: _list(
            "salmon, blush, bubblegum, flamingo, coral, hot pink, pinkish, carnation, "
            "peony, candy pink, baby pink, rosy"
        ),
        Color.WHITE: _list(
            "snow white, cream, pearl, milky, chalk, silver, whitish, alabaster, eggshell, "
            "porcelain, bone white, pale, off-white"
        ),
    },
    Shape: {
        Shape.CIRCLE: _list(
            "ring, bubble, coin, circular, balls, discs, spheres, globe, marble, wheel, "
            "oval, spherical, hoop, disk"
        ),
        Shape.SQUARE: _list(
            "rectangle, cubes, boxes, blocks, squarish, quadrilateral, brick, crate, panel, "
            "plank, rectangular, cubic, board"
        ),
        Shape.TRIANGLE: _list(
            "triangular, pyramids, wedges, arrowhead, cone, trigon, prism, spearhead, pennant"
        ),
        Shape.STAR: _list(
            "starfish, star shape, star-shaped, sparkle, asterisk, starburst, twinkle, "
            "shooting star, starry shape"
        ),
    },
    Motion: {
        Motion.LEFT: _list(
            "to the left, leftwards, toward the left, towards the left, from right to left, "
            "right to left"
        ),
        Motion.RIGHT: _list(
            "to the right, rightwards, toward the right, towards the right, from left to right, "
            "left to right"
        ),
        Motion.UP: _list(
            "upwards, lifts, lifting, soars, soaring, goes higher, lifts off, levitates, "
            "levitating, flies up, flying up, fly up, "
            "bottom to top, from bottom to top"
        )
        + _toward("top, sky, ceiling"),
        Motion.DOWN: _list(
            "downwards, plunges, plunging, tumbles, tumbling, plummets, plummeting, goes "
            "lower, slumps, lowers, lowering, dive, dives, diving, "
            "fell, sank, top to bottom, from top to bottom"
        )
        + _toward("bottom, ground, floor"),
        Motion.BOUNCING: _list(
            "bouncy, bounding, leaps, leaping, skips, skipping, springs, springing, "
            "dribbles, ricochets, jiggles, up and down"
        ),
        Motion.SPINNING: _list(
            "revolves, revolving, swirls, swirling, pirouettes, gyrates, gyrating, spirals, "
            "spiralling, spun, clockwise, "
            "anticlockwise, counterclockwise, counter-clockwise, in circles"
        ),
        Motion.GROWING: _list(
            "inflates, inflating, getting big, gets big, scales up, balloons, ballooning, "
            "widens, magnifies, gets larger and larger, increases in size, "
            "grew, bigger and bigger, becomes bigger, becoming bigger, becomes "
            "larger, becoming larger"
        ),
        Motion.SHRINKING: _list(
            "deflates, deflating, getting small, scales down, fades, shrivels, shrivelling, "
            "narrows, withers, decreases in size, gets tinier, shrank, shrunk, "
            "smaller and smaller, becomes smaller, becoming smaller"
        ),
    },
    Background: {
        Background.STUDIO: _list(
            "plain background, white background, grey background, gray background, plain "
            "white background, plain grey background, blank background, empty room, studio "
            "background, plain, white wall, blank wall, grey wall, seamless paper"
        ),
        Background.SUNSET: _list(
            "dusk, sundown, evening, orange sky, red sky, sunrise, afterglow, sunset glow, "
            "late afternoon, setting sun, sun sets, sun is setting"
        ),
        Background.NIGHT: _list(
            "black background, dark background, plain black background, night, stars, "
            "starlit sky, outer space, space, dark sky, nighttime, galaxy, cosmos, moonlit "
            "sky, star field, in the dark"
        ),
        Background.OCEAN: _list(
            "waves, beach, lake, seaside, the sea, coast, shore, lagoon, bay, seascape, marine, "
            "seashore, sandy beach"
        ),
        Background.GRASS: _list(
            "grass, field, grassland, garden, park, green field, farmland, countryside, "
            "grassy, fields, hillside, green hills"
        ),
    },
}

# Nouns of where a thing is: a colour just before one colours the place, not an object
# ("on a pink background", "in a white room"); a white one is the grey studio.
SETTINGS = frozenset(_spaced("background backgrounds room wall walls floor canvas"))

# Words that never name anything here; they are not worth the encoder's time. Sizes too:
# the world draws any size, and the encoder finds "big" near "growing".
FILLER = (
    frozenset(
        _spaced(
            "a across against an and are as at background behind but by for from full in into "
            "is it it's its just of on one onto or over scene shot some that the there this "
            "to two under very video while who with "
            "small little large big giant enormous massive mini "
            # what people say around the world's words: requests, things, manners, places
            "please show make want render animate create draw me you can could i like "
            "thing things object objects shape size frame screen side middle centre "
            "center along about until keeps keep slowly quickly fast slow gently "
            "light bright deep vivid dark not"
        )
    )
    | SETTINGS
)


# The kinds of value a prompt names, in the order the reader weighs them.
KINDS: tuple[type[StrEnum], ...] = (Color, Shape, Motion, Background)


@functools.cache
def word_table() -> dict[str, StrEnum]:
    """Every phrase the reader places without the encoder: the training words, the words
    people type that no caption uses (``vocab.PROMPT_ONLY_WORDS``) and ``EVERYDAY``'s."""
    table: dict[str, StrEnum] = {}
    for kind in KINDS:
        for value, forms in train_forms(kind).items():
            table.update(dict.fromkeys(forms, value))
        table.update(PROMPT_ONLY_WORDS[kind])
        for value, everyday in EVERYDAY[kind].items():
            table.update(dict.fromkeys(everyday, value))
    return table
