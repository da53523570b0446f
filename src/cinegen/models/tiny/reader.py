"""Read free wording onto cinegen-tiny's world before rendering: the prompt reader.

The network follows its training captions well and other wording badly (the frozen MiniLM
encoder does not place "heading right" near "moves right"). So the backend renders from a
canonical training-style caption of what the user asked: ``read("pink square heading right
on a black background").prompt`` is ``"a pink square moves right over the night sky"``.

Words are read in five steps:

1. the training vocabulary (``vocab``'s ``train`` phrases) and ``everyday``'s words and
   phrases ("from left to right", "toward the top", "up and down"), and the inflections of
   those words ("hopped": "hops", "meadows": "meadow"); what one word says of another is
   then dropped (``_tidy``: "pale blue" is blue, "a pink background" colours no object,
   "jumps up" is no second motion);
2. colour names people use, for words in no list (``color_names``: the XKCD colour
   survey's 949 names, read by the colour each names: "cobalt" is blue, "chocolate" no
   colour of this world), unless the encoder surely takes the word for something else
   ("midnight": the night sky);
3. words WordNet relates to the lists' shapes, motions and places (``wordnet_words``:
   "orb" is a ball, "twirls" a way to turn, "prairie" a grassland), for a kind the prompt
   has not named, before any guess of the encoder;
4. the frozen encoder's similarity, for words in none of them: each unplaced word (and pair
   of words that are each somewhat like the kind) is embedded in a short context ("the
   colour ...") and compared with the anchors of every kind still unsaid that the word's
   form allows (only a verb or adverb names a motion; a word in -ing or -ed names no
   colour, shape or place); it is placed only when clearly nearest one value
   (``MIN_CONTRAST``, ``MIN_MARGIN``); a colour the survey names beats every colour it
   guesses;
5. what is still unplaced is left as the user wrote it: a prompt with no colour and no
   shape is rendered unchanged, and ``Reading.unplaced`` lists the words nobody placed.

Trap: no list written here (``everyday``'s, the anchors) may hold a word of ``vocab``'s
``paraphrase`` phrases or of ``captions.PARAPHRASE_TEMPLATES``: those are ``cinegen
eval-tiny``'s new-wordings split, a held-out test (``tests/models/tiny/test_reader.py``
checks it). The colour survey and WordNet are not written here, and hold most of that
split's words (15 of its 16 colour words, "orb", "pentagram", "ascend", "twirl",
"prairie"...): the split's figures measure them and the network, not the encoder.
"""

from __future__ import annotations

import functools
import itertools
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from enum import StrEnum

import torch

from cinegen.models.tiny.color_names import color_names
from cinegen.models.tiny.everyday import EVERYDAY, FILLER, KINDS, SETTINGS, word_table
from cinegen.models.tiny.vocab import Background, Color, Motion, Shape, train_forms
from cinegen.models.tiny.wordnet_words import lookup

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
# "moving", "sofa": 0.095 as a place; tests/models/tiny/test_reader.py), so that such
# words are left as written ("tree" stays green: 0.17; "savanna", a grassland, 0.106).
# Trap: the context ("the colour ...") makes every word look alike to the encoder; raw
# similarity separates nothing, only the contrast does.
MIN_CONTRAST: dict[type[StrEnum], float] = {
    Color: 0.11,
    Shape: 0.09,
    Motion: 0.16,
    Background: 0.10,
}
MIN_MARGIN = 0.03


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


@functools.cache
def _own_phrases() -> frozenset[str]:
    """The phrases of cinegen-tiny's training captions (not ``EVERYDAY``'s)."""
    return frozenset(f for kind in KINDS for forms in train_forms(kind).values() for f in forms)


@functools.cache
def _pattern() -> re.Pattern[str]:
    ordered = sorted(word_table(), key=len, reverse=True)  # "night sky" before "night"
    return re.compile(r"(?<![a-z])(" + "|".join(map(re.escape, ordered)) + r")(?![a-z])")


def anchors(kind: type[StrEnum]) -> list[tuple[StrEnum, str]]:
    """(value, phrase) pairs the encoder compares unplaced words with."""
    train = train_forms(kind)
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
    found: list[tuple[int, int, StrEnum]] = []  # (start, end, value) in ``normalised``
    rest, own = normalised, True
    for match in _pattern().finditer(normalised):
        found.append((match.start(), match.end(), word_table()[match.group(1)]))
        rest = rest[: match.start()] + " " * len(match.group(1)) + rest[match.end() :]
        own = own and match.group(1) in _own_phrases()
    unknown = [(m.start(), m.group()) for m in re.finditer(r"[a-z'-]+", rest)]
    # "-colored" is what a listed word leaves of "red-colored": nothing more to read
    unknown = [(i, w) for i, w in unknown if w not in FILLER and len(w) > 2 and w[0] != "-"]
    inflected = [(i, w, _inflected(w)) for i, w in unknown]
    found += [(i, i + len(w), v) for i, w, v in inflected if v is not None]
    unknown = [(i, w) for i, w, v in inflected if v is None]
    found = sorted(found, key=lambda f: f[0])
    tidy = _tidy(normalised, found)
    if own and not inflected and tidy == found:
        # the model's own words: rendered as written, as before the reader
        reading = _compose(text, [v for _, _, v in found], ())
        return Reading(text, text, reading.background, reading.objects)
    found = tidy
    candidates = unknown
    if similarity is None:
        similarity, candidates = encoder_similarity, [(i, w) for i, w in unknown if _whole(w)]
    said = {type(v) for _, _, v in found}
    missing = [k for k in KINDS if k not in said]
    named = _named_colors(normalised, unknown)
    related = _related_words(unknown, missing)
    if (candidates or named or related) and missing:
        placed = _place(candidates, missing, similarity, named, related)
        found += [(positions[0], positions[0], value) for positions, value in placed]
        used = {i for positions, _ in placed for i in positions}
        unknown = [(i, w) for i, w in unknown if i not in used]
    values = [v for _, _, v in sorted(found, key=lambda f: f[0])]
    return _compose(text, values, tuple(w for _, w in unknown))


# Endings of inflected words, and what a listed word may end in instead: "hopped" is read
# as "hops" and "bounced" as "bounce", "meadows" as "meadow". Verb endings only reach a
# motion ("stared" is no star), a plural every kind, and only the plural of the word itself
# ("sags" is no "sage", a green).
VERB_ENDINGS = ("ing", "ed", "es", "s", "d")
COLOURED = re.compile(r"-colou?red$")
PLURAL_ENDINGS = ("es", "s")


def _inflected(word: str) -> StrEnum | None:
    """The value of a listed word that ``word`` inflects, if any, and the colour of a name
    said as a colour ("plum-coloured": the survey's plum, however the encoder sees it)."""
    table = word_table()
    if COLOURED.search(word):
        name = COLOURED.sub("", word)
        said = table.get(name)
        return said if isinstance(said, Color) else color_names().get(name)
    for ending in ("", *VERB_ENDINGS):
        if not word.endswith(ending) or len(word) - len(ending) < 3:
            continue
        stem = word[: len(word) - len(ending)]
        stems = {stem, stem + "e"} | ({stem[:-1]} if stem[-1] == stem[-2] else set())
        for s in stems:
            for form in (s, s + "s", s + "es", s + "ing", s[:-1] + "ing" if s[-1] == "e" else s):
                value = table.get(form)
                if form == word or value is None:
                    continue
                if isinstance(value, Motion) or (ending in PLURAL_ENDINGS and form == stem):
                    return value
    return None


DIRECTIONS = (Motion.UP, Motion.DOWN)


def _tidy(normalised: str, found: list[tuple[int, int, StrEnum]]) -> list[tuple[int, int, StrEnum]]:
    """Drop what one word says of another: the colour of a place, the first of two colours
    said as one ("pale blue": blue), and "up" or "down" after a motion that is no direction
    ("jumps up", "shrinks down")."""
    out: list[tuple[int, int, StrEnum]] = []
    for k, (start, end, value) in enumerate(found):
        after = normalised[end:].lstrip(" -")
        gap = len(normalised) - end - len(after)
        follows = found[k + 1][2] if k + 1 < len(found) and found[k + 1][0] == end + gap else None
        if isinstance(value, Color) and (
            isinstance(follows, (Color, Background)) or after.split(" ", 1)[0] in SETTINGS
        ):
            if value is Color.WHITE and follows is None:
                out.append((start, end, Background.STUDIO))
            continue
        if value in DIRECTIONS and out and out[-1][1] + 1 >= start:
            before = out[-1][2]
            if isinstance(before, Motion) and before not in DIRECTIONS:
                continue
        out.append((start, end, value))
    return out


# Words the colour survey names, and the world colour each reads as (None: brown, grey or
# black, which the world does not draw).
NamedColor = tuple[tuple[int, ...], Color | None]


def _named_colors(normalised: str, unknown: list[tuple[int, str]]) -> list[NamedColor]:
    """The unplaced words, and pairs of adjacent ones ("dusty rose"), that the XKCD survey
    names as colours (``color_names``), unless a place follows ("a cobalt wall" colours no
    object)."""
    names = color_names()
    spans = [((i, j), f"{a} {b}") for (i, a), (j, b) in itertools.pairwise(unknown)]
    spans = [(p, text) for p, text in spans if p[1] == p[0] + len(text.split(" ")[0]) + 1]
    out: list[NamedColor] = []
    taken: set[int] = set()
    for positions, text in [*spans, *(((i,), w) for i, w in unknown)]:
        end = positions[-1] + len(text.rsplit(" ", 1)[-1])
        following = normalised[end:].split(" ", 2)[1:2]
        if text not in names or taken.intersection(positions) or set(following) & SETTINGS:
            continue
        out.append((positions, names[text]))
        taken.update(positions)
    return out


def _related_words(
    unknown: list[tuple[int, str]], missing: list[type[StrEnum]]
) -> list[tuple[tuple[int, ...], StrEnum]]:
    """The unplaced words, and pairs of adjacent ones, that WordNet relates to a value of a
    kind still unsaid (``wordnet_words``: "orb" a circle, "twirls" spinning); a motion only
    where the word's form is a verb's or an adverb's (``_may_name``: "orb" is also a verb,
    to orbit)."""
    spans = [
        ((i, j), f"{a} {b}")
        for (i, a), (j, b) in itertools.pairwise(unknown)
        if j == i + len(a) + 1
    ] + [((i,), w) for i, w in unknown]  # a pair first: "hockey puck", not "puck"
    out: list[tuple[tuple[int, ...], StrEnum]] = []
    for kind in missing:
        for positions, text in spans:
            value = lookup(text, kind)
            if value is not None and (kind is not Motion or _may_name(text, kind)):
                out.append((positions, value))
    return out


def _place(
    unknown: list[tuple[int, str]],
    missing: list[type[StrEnum]],
    similarity: Similarity,
    named: Sequence[NamedColor] = (),
    related: Sequence[tuple[tuple[int, ...], StrEnum]] = (),
) -> list[tuple[tuple[int, ...], StrEnum]]:
    """For each unsaid kind, the unplaced word (or word pair) the encoder finds most
    distinctly like one of its values, if distinct enough (``MIN_CONTRAST``). Every
    (word, kind) is weighed at once, surest first, so that a word goes to the kind it is
    most like ("midnight" to the background, not to a colour), and each kind and word are
    placed once. A word is offered only to the kinds its form allows (``_may_name``), and
    a pair only where both its words are somewhat like the kind on their own: a word that
    names nothing ("robot") must not lend its pair another's meaning.

    A word WordNet relates to a value (``related``) names it before any guess of the
    encoder. A colour the survey names (``named``) is the colour it names, not the
    encoder's guess ("chocolate" is brown, so no colour here), unless the encoder surely
    takes the word for something else ("midnight" is the night sky, even where another
    word has named the place); it is weighed after every other sure guess of the encoder,
    and where one is named the encoder guesses no colour ("horizon" is no blue beside
    "tangerine")."""
    words: list[tuple[tuple[int, ...], str]] = [((i,), w) for i, w in unknown]
    pairs: list[tuple[tuple[int, ...], str]] = [
        ((i, j), f"{a} {b}") for (i, a), (j, b) in itertools.pairwise(unknown)
    ]
    in_survey = {i for positions, _ in named for i in positions}
    offers: list[tuple[float, tuple[int, ...], StrEnum]] = [
        (WORDNET_OFFER, positions, value) for positions, value in related
    ]
    for kind in missing if words else ():  # none: every word left is a survey colour
        floor = MIN_CONTRAST[kind] * PAIR_SHARE
        own = _nearest(words, kind, similarity)
        alone = {w[0][0]: contrast for w, (_, contrast) in zip(words, own, strict=True)}
        fit = [p for p in pairs if all(alone[i] >= floor for i in p[0])]
        candidates = words + fit
        nearest = own + (_nearest(fit, kind, similarity) if fit else [])
        for (positions, text), (value, contrast) in zip(candidates, nearest, strict=True):
            if kind is Color and in_survey.intersection(positions):
                continue
            if value is not None and _may_name(text.rsplit(" ", 1)[-1], kind):
                offers.append((contrast - MIN_CONTRAST[kind], positions, value))
    elsewhere = {i for _, positions, _ in offers for i in positions}
    survey = [(p, value) for p, value in named if value is not None]
    survey = [(p, value) for p, value in survey if not elsewhere.intersection(p)]
    if Color in missing and survey:
        # a colour named beats one guessed: "horizon" is no blue beside "tangerine"
        offers = [o for o in offers if not isinstance(o[2], Color)]
        offers += [(SURVEY_OFFER, p, value) for p, value in survey]
    placed: list[tuple[tuple[int, ...], StrEnum]] = []
    taken: set[int] = set()
    for _, positions, value in sorted(offers, key=lambda o: o[0], reverse=True):
        if taken.intersection(positions) or any(type(v) is type(value) for _, v in placed):
            continue
        placed.append((positions, value))
        taken.update(positions)
    return placed


# Where a word WordNet relates to a value ranks: before every guess of the encoder (a
# lexicographer's record beats a similarity the encoder gets wrong for half of our own
# colour words). Its offers keep the prompt's order: the first such word of a kind wins.
WORDNET_OFFER = 1.0
# Where a survey colour name ranks among the encoder's guesses (contrast less its kind's
# MIN_CONTRAST, never below 0 for a sure guess): after them all. Sorting is stable, and the
# survey's offers come last.
SURVEY_OFFER = 0.0
# A pair is weighed only when each of its words alone reaches this share of the kind's
# MIN_CONTRAST.
PAIR_SHARE = 0.5
# Word forms that say what a word may name: only a verb or an adverb of direction names a
# motion ("noon" does not), and a word in -ing or -ed names no colour, shape or place
# ("sitting", "disappears" may: a plural noun ends in -s too).
MOTION_FORMS = re.compile(r".*(s|ed|ing|ward|wards|wise)$")
VERB_FORMS = re.compile(r".*(ed|ing)$")


def _may_name(word: str, kind: type[StrEnum]) -> bool:
    if kind is Motion:
        return bool(MOTION_FORMS.match(word))
    return not VERB_FORMS.match(word)


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


def _compose(given: str, found: Sequence[StrEnum], unplaced: tuple[str, ...]) -> Reading:
    background: Background | None = None
    objects: list[_Object] = [_Object()]
    for value in found:
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
    verb = train_forms(Motion)[obj.motion][0] if obj.motion else ""
    return f"{'an' if noun[0] in 'aeiou' else 'a'} {noun}", verb


def _noun(shape: Shape | None) -> str:
    return shape.value if shape else "shape"


def _caption(objects: list[_Object], background: Background | None) -> str:
    """A caption in the training templates' words (``captions.TRAIN_TEMPLATES``)."""
    bg = train_forms(Background)[background][0] if background else None
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
