"""Read free wording onto cinegen-tiny's world before rendering: the prompt reader.

The network follows its training captions well and other wording badly (the frozen MiniLM
encoder does not place "heading right" near "moves right"). So the backend renders from a
canonical training-style caption of what the user asked: ``read("pink square heading right
on a black background").prompt`` is ``"a pink square moves right over the night sky"``.

Words are placed in three ways, in order:

1. the training vocabulary (``vocab``'s ``train`` phrases) and ``everyday``'s words;
2. the frozen encoder's similarity, for words in neither: each unplaced word (and pair of
   words) is embedded in a short context ("the colour ...") and compared with the anchors
   of every kind still unsaid; it is placed only when clearly nearest one value
   (``MIN_CONTRAST``, ``MIN_MARGIN``);
3. what is still unplaced is left as the user wrote it: a prompt with no colour and no
   shape is rendered unchanged, and ``Reading.unplaced`` lists the words nobody placed.

Trap: no list the reader uses (``everyday``'s, the anchors) may hold a word of ``vocab``'s
``paraphrase`` phrases or of ``captions.PARAPHRASE_TEMPLATES``: those are ``cinegen
eval-tiny``'s new-wordings split, a held-out test (``tests/models/tiny/test_reader.py``
checks it).
"""

from __future__ import annotations

import functools
import itertools
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from enum import StrEnum

import torch

from cinegen.models.tiny.everyday import EVERYDAY, FILLER
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

# The context each kind's candidates are embedded in: a bare word embeds poorly.
CONTEXT: dict[type[StrEnum], str] = {
    Color: "the colour {}",
    Shape: "a {} shape",
    Motion: "it {}",
    Background: "in front of the {}",
}
# How much nearer a word must be to its nearest value than to the kind's values on average
# (its contrast), and to the runner-up value (its margin). Set just above the highest
# contrast of ordinary words that name nothing here ("dog", "camera", "really", "screen",
# "moving": tests/models/tiny/test_reader.py), so that such words are left as written
# ("tree" stays green: 0.17). Trap: the context ("the colour ...") makes every word look
# alike to the encoder; raw similarity separates nothing, only the contrast does.
MIN_CONTRAST: dict[type[StrEnum], float] = {
    Color: 0.11,
    Shape: 0.09,
    Motion: 0.16,
    Background: 0.09,
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
def _own_phrases() -> frozenset[str]:
    """The phrases of cinegen-tiny's training captions (not ``EVERYDAY``'s)."""
    return frozenset(f for kind in KINDS for forms in _train_forms(kind).values() for f in forms)


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


# Word endings the encoder's tokenizer splits off a word it knows ("swells": "swell", "##s").
ENDINGS = frozenset(["##s", "##es", "##ed", "##ing", "##ly", "##ward", "##wards"])


def _whole(word: str) -> bool:
    """Whether the encoder knows ``word`` as a whole, or as a known word and an ending: it
    embeds a word it must spell out in pieces ("zorblax": "zo", "##rb", "##lax") near
    anything, so such words stay unplaced."""
    from cinegen.models.tiny.text import shared_encoder

    tokenizer = shared_encoder().tokenizer
    pieces = [tokenizer.tokenize(part) for part in re.split(r"[-']", word) if part]
    return all(len(p) == 1 or (len(p) == 2 and p[1] in ENDINGS) for p in pieces)


def read(text: str, similarity: Similarity | None = None) -> Reading:
    """Place ``text``'s words on the world's values; ``similarity`` (default: the frozen
    encoder's) places the words no list holds."""
    normalised = _tokens(text)
    found: list[tuple[int, StrEnum]] = []
    rest, own = normalised, True
    for match in _pattern().finditer(normalised):
        found.append((match.start(), word_table()[match.group(1)]))
        rest = rest[: match.start()] + " " * len(match.group(1)) + rest[match.end() :]
        own = own and match.group(1) in _own_phrases()
    unknown = [(m.start(), m.group()) for m in re.finditer(r"[a-z'-]+", rest)]
    unknown = [(i, w) for i, w in unknown if w not in FILLER and len(w) > 2]
    if own and not unknown:  # the model's own words: rendered as written, as before the reader
        reading = _compose(text, sorted(found, key=lambda f: f[0]), ())
        return Reading(text, text, reading.background, reading.objects)
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
    distinctly like one of its values, if distinct enough (``MIN_CONTRAST``). Every
    (word, kind) is weighed at once, surest first, so that a word goes to the kind it is
    most like ("midnight" to the background, not to a colour), and each kind and word are
    placed once."""
    candidates: list[tuple[tuple[int, ...], str]] = [((i,), w) for i, w in unknown]
    candidates += [((i, j), f"{a} {b}") for (i, a), (j, b) in itertools.pairwise(unknown)]
    offers: list[tuple[float, tuple[int, ...], StrEnum]] = []
    for kind in missing:
        for c, (value, contrast) in enumerate(_nearest(candidates, kind, similarity)):
            if value is not None:
                offers.append((contrast - MIN_CONTRAST[kind], candidates[c][0], value))
    placed: list[tuple[tuple[int, ...], StrEnum]] = []
    taken: set[int] = set()
    for _, positions, value in sorted(offers, key=lambda o: o[0], reverse=True):
        if taken.intersection(positions) or any(type(v) is type(value) for _, v in placed):
            continue
        placed.append((positions, value))
        taken.update(positions)
    return placed


def _nearest(
    candidates: list[tuple[tuple[int, ...], str]], kind: type[StrEnum], similarity: Similarity
) -> list[tuple[StrEnum | None, float]]:
    """Per candidate, the value of ``kind`` it is surely nearest (None when none is) and its
    contrast."""
    pairs = anchors(kind)
    context = CONTEXT[kind]
    sims = similarity(
        [context.format(w) for _, w in candidates], [context.format(p) for _, p in pairs]
    )  # (candidates, anchors)
    values = list(kind)
    per_value = torch.stack(
        [sims[:, [a for a, (v, _) in enumerate(pairs) if v == value]].amax(1) for value in values],
        dim=1,
    )  # (candidates, values): the nearest anchor of each value
    top = per_value.topk(2, dim=1)
    contrast = top.values[:, 0] - per_value.mean(1)  # (candidates,)
    margin = top.values[:, 0] - top.values[:, 1]
    sure = (contrast >= MIN_CONTRAST[kind]) & (margin >= MIN_MARGIN)
    return [
        (values[int(top.indices[c, 0])] if sure[c] else None, float(contrast[c]))
        for c in range(len(candidates))
    ]


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
    kept = [o for o in objects if o.color or o.shape or o.motion]
    if not kept and background is None:  # nothing placed: the network gets the user's words
        return Reading(given, given, background, (), unplaced)
    # Whatever was placed is said in training words ("a shape moves up over the ocean"):
    # the network draws some shape of some colour either way, and follows those words.
    kept = kept or [_Object()]
    shape = tuple((o.color, o.shape, o.motion) for o in kept)
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
