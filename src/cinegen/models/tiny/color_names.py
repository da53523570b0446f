"""The colour names people use, read onto cinegen-tiny's eight colours (``vocab.Color``).

The frozen sentence encoder barely knows colours (it places "cobalt" nearest white and
"lemon" nearest purple), so the prompt reader takes colour names from people instead: the
XKCD colour survey (Randall Munroe, 2010, CC0), in which 222,500 sessions named over five
million swatches; ``xkcd_colors.tsv`` holds its 949 commonest names and the sRGB colour
each was given for. A name is read as a colour of the world by where that colour lies:

- very light and weakly coloured ("ivory", "cream", "off white"): white;
- otherwise the vote of its five nearest names in CIELAB among those whose last word is a
  basic colour term ("dark pastel green" is green): red, orange, yellow, green, blue,
  purple, pink or white, or brown, grey or black, which the world does not draw (``None``:
  the reader leaves such a name as written); a tie goes to the nearest name's term.

Checked against the reader's own hand-written colour words (``everyday.EVERYDAY``) that
the survey also names: 83% read the same; the rest are shades either way ("teal" is green
by the survey, blue by ``EVERYDAY``; "magenta" pink by the survey, purple by ``EVERYDAY``).
Where both name a word, the reader takes ``EVERYDAY``'s.
"""

from __future__ import annotations

import functools
from collections import Counter
from importlib import resources

import numpy as np

from cinegen.models.tiny.vocab import Color

# The basic colour terms a survey name may end in, and the world colour each means.
BASIC_TERMS: dict[str, Color | None] = {
    "red": Color.RED,
    "orange": Color.ORANGE,
    "yellow": Color.YELLOW,
    "green": Color.GREEN,
    "blue": Color.BLUE,
    "purple": Color.PURPLE,
    "pink": Color.PINK,
    "white": Color.WHITE,
    "brown": None,
    "grey": None,
    "gray": None,
    "black": None,
}
NEIGHBOURS = 5
# CIELAB lightness and chroma of a colour read as white whatever its neighbours: "ivory"
# (L 99, C 26) and "cream" (L 99, C 31) are white; "butter" (C 62), "light pink" (L 88)
# and "light grey" (L 87) are not.
WHITE_LIGHTNESS = 93.0
WHITE_CHROMA = 40.0


def survey() -> dict[str, tuple[int, int, int]]:
    """The survey's names and their sRGB colours."""
    text = resources.files("cinegen.models.tiny").joinpath("xkcd_colors.tsv").read_text()
    out: dict[str, tuple[int, int, int]] = {}
    for line in text.splitlines():
        if line and not line.startswith("#"):
            name, code = line.split("\t")
            out[name] = (int(code[1:3], 16), int(code[3:5], 16), int(code[5:7], 16))
    return out


# Linear sRGB -> CIE XYZ, and the D65 white point (IEC 61966-2-1).
SRGB_TO_XYZ = np.array(
    [[0.4124, 0.3576, 0.1805], [0.2126, 0.7152, 0.0722], [0.0193, 0.1192, 0.9505]]
)
D65_WHITE = np.array([0.95047, 1.0, 1.08883])


def cielab(rgb: np.ndarray | list[int]) -> np.ndarray:
    """sRGB 0-255 (..., 3) -> CIELAB (..., 3) under D65."""
    c = np.asarray(rgb, np.float64) / 255
    linear = np.where(c <= 0.04045, c / 12.92, ((c + 0.055) / 1.055) ** 2.4)
    xyz = linear @ SRGB_TO_XYZ.T / D65_WHITE
    f = np.where(xyz > 0.008856, np.cbrt(xyz), 7.787 * xyz + 16 / 116)
    return np.stack(
        [116 * f[..., 1] - 16, 500 * (f[..., 0] - f[..., 1]), 200 * (f[..., 1] - f[..., 2])], -1
    )


def _term(name: str) -> str:
    return name.replace("/", " ").split()[-1]


@functools.cache
def color_names() -> dict[str, Color | None]:
    """Every survey name -> the world colour it reads as (None: brown, grey or black)."""
    names = survey()
    every = list(names)
    lab = cielab(np.array([names[n] for n in every]))  # (names, 3)
    labelled = [k for k, n in enumerate(every) if _term(n) in BASIC_TERMS]
    distance = np.linalg.norm(lab[:, None] - lab[None, labelled], axis=2)  # (names, labelled)
    distance[labelled, np.arange(len(labelled))] = np.inf  # a name does not vote for itself
    nearest = distance.argsort(axis=1)[:, :NEIGHBOURS]
    chroma = np.hypot(lab[:, 1], lab[:, 2])
    out: dict[str, Color | None] = {}
    for k, name in enumerate(every):
        if lab[k, 0] >= WHITE_LIGHTNESS and chroma[k] <= WHITE_CHROMA:
            out[name] = Color.WHITE
            continue
        votes = Counter(BASIC_TERMS[_term(every[labelled[j]])] for j in nearest[k])
        out[name] = votes.most_common(1)[0][0]
    return out
