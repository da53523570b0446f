"""Read free wording onto cinegen-tiny's world before rendering: the prompt reader.

The network follows its training captions well and other wording badly (the frozen MiniLM
encoder does not place "heading right" near "moves right"). So the backend renders from a
canonical training-style caption of what the user asked: ``read("pink square heading right
on a black background").prompt`` is ``"a pink square moves right over the night sky"``.

Words are placed in three ways, in order:

1. the training vocabulary (``vocab``'s ``train`` phrases) and the everyday words below;
2. the frozen encoder's similarity, for words in neither: each unplaced word (and pair of
   words) is embedded in a short context ("the colour ...") and compared with the anchors
   of every kind still unsaid; it is placed only when clearly nearest one value
   (``MIN_CONTRAST``, ``MIN_MARGIN``);
3. what is still unplaced is left as the user wrote it: a prompt with no colour and no
   shape is rendered unchanged, and ``Reading.unplaced`` lists the words nobody placed.

Trap: none of these lists may hold a word of ``vocab``'s ``paraphrase`` phrases or of
``captions.PARAPHRASE_TEMPLATES``: those are ``cinegen eval-tiny``'s new-wordings split, a
held-out test (``tests/models/tiny/test_reader.py`` checks it).
"""

from __future__ import annotations

import functools
import itertools
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from enum import StrEnum

import torch

from cinegen.models.tiny.vocab import (
    BACKGROUND_WORDS,
    COLOR_WORDS,
    MOTION_WORDS,
    PROMPT_ONLY_WORDS,
    SHAPE_WORDS,
    Background,
    Color,
    Motion,
    Shape,
)

# Everyday words for the world's values. "plain", "white" and "grey" backgrounds become the
# grey studio (the world's only neutral backdrop); "black" and "dark" ones the night sky
# (the darkest backdrop; it has a few small stars).
EVERYDAY: dict[type[StrEnum], dict[StrEnum, tuple[str, ...]]] = {
    Color: {
        Color.RED: ("maroon", "cherry", "blood red", "brick red", "tomato red", "reddish"),
        Color.ORANGE: ("peach", "apricot", "carrot", "pumpkin", "orangey", "orangish"),
        Color.YELLOW: ("gold", "mustard", "canary", "banana", "sunflower", "yellowish"),
        Color.GREEN: ("olive", "mint", "jade", "forest green", "leafy", "greenish", "teal green"),
        Color.BLUE: ("navy", "sky blue", "sapphire", "turquoise", "cyan", "teal", "bluish"),
        Color.PURPLE: ("lavender", "lilac", "mauve", "indigo", "grape", "amethyst", "magenta"),
        Color.PINK: ("salmon", "blush", "bubblegum", "flamingo", "coral", "hot pink", "pinkish"),
        Color.WHITE: ("snow white", "cream", "pearl", "milky", "chalk", "silver", "whitish"),
    },
    Shape: {
        Shape.CIRCLE: ("ring", "bubble", "coin", "circular", "balls", "discs", "spheres"),
        Shape.SQUARE: ("rectangle", "cubes", "boxes", "blocks", "squarish", "quadrilateral"),
        Shape.TRIANGLE: ("triangular", "pyramids", "wedges", "arrowhead", "cone"),
        Shape.STAR: ("starfish", "star shape", "star-shaped", "sparkle", "asterisk"),
    },
    Motion: {
        Motion.LEFT: ("to the left", "leftwards", "toward the left", "towards the left"),
        Motion.RIGHT: ("to the right", "rightwards", "toward the right", "towards the right"),
        Motion.UP: ("upwards", "lifts", "lifting", "soars", "soaring"),
        Motion.DOWN: ("downwards", "plunges", "plunging", "tumbles", "tumbling"),
        Motion.BOUNCING: ("bouncy", "bounding", "leaps", "leaping", "skips", "skipping"),
        Motion.SPINNING: ("revolves", "revolving"),
        Motion.GROWING: ("inflates", "inflating", "getting big", "gets big", "scales up"),
        Motion.SHRINKING: ("deflates", "deflating", "getting small", "scales down", "fades"),
    },
    Background: {
        Background.STUDIO: (
            "plain background",
            "white background",
            "grey background",
            "gray background",
            "plain white background",
            "plain grey background",
            "blank background",
            "empty room",
            "studio background",
            "plain",
        ),
        Background.SUNSET: ("dusk", "sundown", "evening", "orange sky", "red sky", "sunrise"),
        Background.NIGHT: (
            "black background",
            "dark background",
            "plain black background",
            "night",
            "stars",
            "starlit sky",
            "outer space",
            "space",
            "dark sky",
            "nighttime",
        ),
        Background.OCEAN: ("waves", "beach", "lake", "seaside", "the sea"),
        Background.GRASS: ("grass", "field", "grassland", "garden", "park", "green field"),
    },
}

# Words that never name anything here; they are not worth the encoder's time.
FILLER = frozenset(
    [
        "a",
        "an",
        "the",
        "of",
        "on",
        "in",
        "over",
        "under",
        "at",
        "to",
        "from",
        "with",
        "and",
        "or",
        "but",
        "is",
        "are",
        "it",
        "its",
        "it's",
        "this",
        "that",
        "there",
        "who",
        "very",
        "some",
        "one",
        "two",
        "video",
        "shot",
        "scene",
        "background",
        "behind",
        "across",
        "against",
        "while",
        "as",
        "into",
        "onto",
        "by",
        "for",
        "full",
        "just",
    ]
)
# The context each kind's candidates are embedded in: a bare word embeds poorly.
CONTEXT: dict[type[StrEnum], str] = {
    Color: "the colour {}",
    Shape: "a {} shape",
    Motion: "it {}",
    Background: "in front of the {}",
}
# How much nearer a word must be to its nearest value than to the kind's values on average
# (its contrast), and to the runner-up value (its margin). Set just above the highest
# contrast of 25 ordinary words that name nothing here ("dog", "house", "slowly", "camera":
# tests/models/tiny/test_reader.py), so that such words are left as written. Trap: the
# context ("the colour ...") makes every word look alike to the encoder; raw similarity
# separates nothing, only the contrast does.
MIN_CONTRAST: dict[type[StrEnum], float] = {
    Color: 0.11,
    Shape: 0.07,
    Motion: 0.13,
    Background: 0.08,
}
MIN_MARGIN = 0.03
KINDS: tuple[type[StrEnum], ...] = (Color, Shape, Motion, Background)


@dataclass
class _Object:
    color: Color | None = None
    shape: Shape | None = None
    motion: Motion | None = None


@dataclass(frozen=True)
class Reading:
    """What ``given`` asks for, as the world's values, and the prompt to render from."""

    given: str
    prompt: str
    background: Background | None
    objects: tuple[tuple[Color | None, Shape | None, Motion | None], ...]
    unplaced: tuple[str, ...] = field(default=())


Similarity = Callable[[list[str], list[str]], torch.Tensor]


def _train_forms(kind: type[StrEnum]) -> dict[StrEnum, tuple[str, ...]]:
    tables: dict[type[StrEnum], dict] = {  # type: ignore[type-arg]
        Color: COLOR_WORDS,
        Shape: SHAPE_WORDS,
        Motion: MOTION_WORDS,
        Background: BACKGROUND_WORDS,
    }
    out: dict[StrEnum, tuple[str, ...]] = {}
    for value, words in tables[kind].items():
        forms = [f for p in words.train for f in (p if isinstance(p, tuple) else (p,))]
        out[value] = tuple(forms)
    return out


@functools.cache
def word_table() -> dict[str, StrEnum]:
    """Every phrase the reader places without the encoder (training words and ``EVERYDAY``)."""
    table: dict[str, StrEnum] = {}
    for kind in KINDS:
        for value, forms in _train_forms(kind).items():
            table.update(dict.fromkeys(forms, value))
        table.update(PROMPT_ONLY_WORDS[kind])
        for value, everyday in EVERYDAY[kind].items():
            table.update(dict.fromkeys(everyday, value))
    return table


@functools.cache
def _pattern() -> re.Pattern[str]:
    ordered = sorted(word_table(), key=len, reverse=True)  # "night sky" before "night"
    return re.compile(r"(?<![a-z])(" + "|".join(map(re.escape, ordered)) + r")(?![a-z])")


def anchors(kind: type[StrEnum]) -> list[tuple[StrEnum, str]]:
    """(value, phrase) pairs the encoder compares unplaced words with."""
    train = _train_forms(kind)
    return [(v, p) for v in kind for p in (*train[v], *EVERYDAY[kind][v])]


def _tokens(text: str) -> str:
    return " ".join(re.sub(r"[^a-z'-]+", " ", text.lower().replace("_", " ")).split())


def _whole(word: str) -> bool:
    """Whether the encoder knows ``word`` as a whole: it embeds a word it must spell out
    in pieces ("zorblax": "zo", "##rb", "##lax") near anything, so such words stay unplaced."""
    from cinegen.models.tiny.text import shared_encoder

    tokenizer = shared_encoder().tokenizer
    return all(len(tokenizer.tokenize(part)) == 1 for part in re.split(r"[-']", word) if part)


def read(text: str, similarity: Similarity | None = None) -> Reading:
    """Place ``text``'s words on the world's values; ``similarity`` (default: the frozen
    encoder's) places the words no list holds."""
    normalised = _tokens(text)
    found: list[tuple[int, StrEnum]] = []
    rest = normalised
    for match in _pattern().finditer(normalised):
        found.append((match.start(), word_table()[match.group(1)]))
        rest = rest[: match.start()] + " " * len(match.group(1)) + rest[match.end() :]
    unknown = [(m.start(), m.group()) for m in re.finditer(r"[a-z'-]+", rest)]
    unknown = [(i, w) for i, w in unknown if w not in FILLER and len(w) > 2]
    candidates = unknown
    if similarity is None:
        similarity, candidates = encoder_similarity, [(i, w) for i, w in unknown if _whole(w)]
    said = {type(v) for _, v in found}
    missing = [k for k in KINDS if k not in said]
    if candidates and missing:
        placed = _place(candidates, missing, similarity)
        found += [(positions[0], value) for positions, value in placed]
        used = {i for positions, _ in placed for i in positions}
        unknown = [(i, w) for i, w in unknown if i not in used]
    return _compose(text, sorted(found, key=lambda f: f[0]), tuple(w for _, w in unknown))


def _place(
    unknown: list[tuple[int, str]], missing: list[type[StrEnum]], similarity: Similarity
) -> list[tuple[tuple[int, ...], StrEnum]]:
    """For each unsaid kind, the unplaced word (or word pair) the encoder finds most
    distinctly like one of its values, if distinct enough (``MIN_CONTRAST``)."""
    candidates: list[tuple[tuple[int, ...], str]] = [((i,), w) for i, w in unknown]
    candidates += [((i, j), f"{a} {b}") for (i, a), (j, b) in itertools.pairwise(unknown)]
    placed: list[tuple[tuple[int, ...], StrEnum]] = []
    taken: set[int] = set()
    for kind in missing:
        pairs = anchors(kind)
        context = CONTEXT[kind]
        sims = similarity(
            [context.format(w) for _, w in candidates], [context.format(p) for _, p in pairs]
        )  # (candidates, anchors)
        values = list(kind)
        per_value = torch.stack(
            [
                sims[:, [a for a, (v, _) in enumerate(pairs) if v == value]].amax(1)
                for value in values
            ],
            dim=1,
        )  # (candidates, values): the nearest anchor of each value
        top = per_value.topk(2, dim=1)
        contrast = top.values[:, 0] - per_value.mean(1)  # (candidates,)
        margin = top.values[:, 0] - top.values[:, 1]
        sure = (contrast >= MIN_CONTRAST[kind]) & (margin >= MIN_MARGIN)
        for c in torch.argsort(contrast, descending=True).tolist():
            positions = candidates[c][0]
            if not sure[c] or taken.intersection(positions):
                continue
            placed.append((positions, values[int(top.indices[c, 0])]))
            taken.update(positions)
            break
    return placed


def _compose(
    given: str, found: Sequence[tuple[int, StrEnum]], unplaced: tuple[str, ...]
) -> Reading:
    background: Background | None = None
    objects: list[_Object] = [_Object()]
    for _, value in found:
        if isinstance(value, Background):
            background = background or value
            continue
        name = {Color: "color", Shape: "shape", Motion: "motion"}[type(value)]
        current = objects[-1]
        if getattr(current, name) is not None and value != getattr(current, name):
            if len(objects) == 2:  # the world draws at most two objects
                continue
            current = _Object()
            objects.append(current)
        if getattr(current, name) is None:
            setattr(current, name, value)
    kept = [o for o in objects if o.color or o.shape]
    shape = tuple((o.color, o.shape, o.motion) for o in kept)
    if not kept:  # nothing to draw was placed: the network gets the user's own words
        return Reading(given, given, background, (), unplaced)
    return Reading(given, _caption(kept, background), background, shape, unplaced)


def _phrase(obj: _Object) -> tuple[str, str]:
    noun = " ".join(w for w in (obj.color and obj.color.value, _noun(obj.shape)) if w)
    verb = _train_forms(Motion)[obj.motion][0] if obj.motion else ""
    return f"{'an' if noun[0] in 'aeiou' else 'a'} {noun}", verb


def _noun(shape: Shape | None) -> str:
    return shape.value if shape else "shape"


def _caption(objects: list[_Object], background: Background | None) -> str:
    """A caption in the training templates' words (``captions.TRAIN_TEMPLATES``)."""
    bg = _train_forms(Background)[background][0] if background else None
    parts = [" ".join(w for w in _phrase(o) if w) for o in objects]
    if len(parts) == 2:
        text = f"{parts[0]} while {parts[1]}"
        return f"{text}, {bg} background" if bg else text
    return f"{parts[0]} over the {bg}" if bg else parts[0]


def encoder_similarity(queries: list[str], keys: list[str]) -> torch.Tensor:
    """Cosine similarity of the frozen encoder's mean-pooled states: (queries, keys)."""
    q, k = _embed(tuple(queries)), _embed(tuple(keys))
    return q @ k.T


@functools.lru_cache(maxsize=64)
def _embed(texts: tuple[str, ...]) -> torch.Tensor:
    from cinegen.models.tiny.text import shared_encoder

    encoded = shared_encoder()(list(texts))
    mask = encoded.mask.float()[..., None]  # (B, L, 1)
    pooled = (encoded.tokens * mask).sum(1) / mask.sum(1)  # (B, 384)
    return torch.nn.functional.normalize(pooled.cpu(), dim=-1)
