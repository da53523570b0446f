"""Words WordNet relates to the toy world's own: the shipped table and how it is built."""

from __future__ import annotations

from pathlib import Path

import pytest

from cinegen.models.tiny.reader import read
from cinegen.models.tiny.vocab import Background, Color, Motion, Shape
from cinegen.models.tiny.wordnet_words import (
    WordNet,
    anchor_phrases,
    build,
    digest,
    lookup,
    table_digest,
)

B, S, M = Background, Shape, Motion


def test_the_shipped_table_was_built_from_the_words_the_reader_has_now():
    assert table_digest() == digest(anchor_phrases()), (
        "an anchor of wordnet_words changed (vocab's or everyday's words): rebuild the table "
        "as cinegen/models/tiny/wordnet_words.py's docstring says"
    )


@pytest.mark.parametrize(
    ("text", "objects", "background"),
    [
        # none of these words is in a list written here; WordNet relates each to one
        ("a hockey puck swivels over the savanna", ((None, S.CIRCLE, M.SPINNING),), B.GRASS),
        ("a crate topples onto the veld", ((None, S.SQUARE, M.DOWN),), B.GRASS),
        ("a disk wanes", ((None, S.CIRCLE, M.SHRINKING),), None),
        ("a globule bloats over the lagoon", ((None, S.CIRCLE, M.GROWING),), B.OCEAN),
        ("a trapezoid somersaults at nightfall", ((None, S.SQUARE, M.SPINNING),), B.SUNSET),
        ("an arrowhead plummets", ((None, S.TRIANGLE, M.DOWN),), None),
        ("a tennis ball capers across the hayfield", ((None, S.CIRCLE, M.BOUNCING),), B.GRASS),
    ],
)
def test_the_reader_places_words_wordnet_relates_to_the_world(text, objects, background):
    reading = read(text)
    assert reading.objects == objects and reading.background == background


def test_a_two_word_lemma_is_read_whole():
    assert read("a hockey puck swivels").unplaced == ()  # not "puck", leaving "hockey"


@pytest.mark.parametrize(
    "word", ["dog", "person", "car", "tree", "sun", "house", "camera", "eats", "walks"]
)
def test_everyday_nouns_and_verbs_name_nothing_here(word):
    assert all(lookup(word, kind) is None for kind in (Shape, Motion, Background))


def test_a_motion_is_read_only_from_a_verb_form():
    # "orb" is also a verb (to orbit): as a noun it is a shape, never a spin
    assert read("a red orb").objects == ((Color.RED, S.CIRCLE, None),)


# A small WordNet in its own file format (wndb(5WN)): (part of speech, offset, lexicographer
# file, lemmas, hypernym offsets). Senses are listed commonest first.
SYNSETS = [
    ("noun", "00000001", 25, ["ball", "orb"], []),  # a shape
    ("noun", "00000002", 6, ["block"], []),  # an artifact
    ("noun", "00000003", 6, ["slab"], ["00000002"]),
    ("noun", "00000004", 6, ["tile"], ["00000003"]),
    ("noun", "00000005", 6, ["tessera"], ["00000004"]),
    ("noun", "00000006", 6, ["mosaic_piece"], ["00000005"]),  # four steps from block
    ("noun", "00000007", 17, ["star"], []),  # a celestial body, no shape
    ("noun", "00000008", 17, ["sun"], ["00000007"]),
    ("noun", "00000009", 25, ["blob"], ["00000001"]),  # commonest: ball-like
    ("noun", "00000010", 6, ["blob"], ["00000002"]),
    ("noun", "00000011", 6, ["ballblock"], ["00000001", "00000002"]),  # both at once
    ("noun", "00000012", 15, ["meadow", "lea"], []),
    ("noun", "00000013", 15, ["hayfield"], ["00000012"]),
    ("noun", "00000014", 15, ["hay_meadow"], ["00000013"]),  # two steps: too far for a place
    ("noun", "00000015", 17, ["plain"], []),  # the world's "plain" is an adjective
    ("noun", "00000016", 17, ["steppe"], ["00000015"]),
    ("verb", "00000001", 38, ["rise", "ascend"], []),
    ("verb", "00000002", 38, ["soar"], ["00000001"]),
    ("verb", "00000003", 30, ["decrease", "diminish"], []),
    ("verb", "00000004", 30, ["shrink"], ["00000003"]),
    ("verb", "00000005", 30, ["dwindle"], ["00000003"]),
    ("adj", "00000001", 0, ["triangular", "three-sided"], []),
    ("adj", "00000002", 0, ["plain"], []),
]
ANCHORS = {
    "ball": S.CIRCLE,
    "block": S.SQUARE,
    "stars": B.NIGHT,
    "rises": M.UP,
    "shrinks": M.SHRINKING,
    "meadow": B.GRASS,
    "plain": B.STUDIO,
    "triangular": S.TRIANGLE,
}


def _write_wordnet(folder: Path) -> None:
    for pos in ("noun", "verb", "adj"):
        data, index = [], {}
        for p, offset, lexfile, lemmas, up in SYNSETS:
            if p != pos:
                continue
            words = " ".join(f"{w} 0" for w in lemmas)
            pointers = " ".join(f"@ {o} {pos[0]} 0000" for o in up)
            data.append(
                f"{offset} {lexfile:02d} {pos[0]} {len(lemmas):02x} {words} {len(up):03d} "
                f"{pointers} | a gloss"
            )
            for w in lemmas:
                index.setdefault(w, []).append(offset)
        (folder / f"data.{pos}").write_text("  1 a licence line\n" + "\n".join(data) + "\n")
        lines = [f"{w} {pos[0]} {len(o)} 0 {len(o)} 0 {' '.join(o)}" for w, o in index.items()]
        (folder / f"index.{pos}").write_text("\n".join(sorted(lines)) + "\n")


def test_build_relates_lemmas_by_shared_senses_and_kinds_within_reach(tmp_path):
    _write_wordnet(tmp_path)
    table = build(WordNet.read(tmp_path), ANCHORS)
    assert table[("orb", "shape")] is S.CIRCLE  # shares a sense with "ball"
    assert table[("tile", "shape")] is S.SQUARE  # a slab, a block: two steps
    assert ("mosaic piece", "shape") not in table  # four steps: too far
    assert ("sun", "shape") not in table and ("sun", "background") not in table
    assert table[("blob", "shape")] is S.CIRCLE  # its commonest sense decides
    assert ("ballblock", "shape") not in table  # a ball and a block at once: neither
    assert table[("ascend", "motion")] is M.UP and table[("soar", "motion")] is M.UP
    assert table[("dwindle", "motion")] is M.SHRINKING  # a way to decrease, as shrinking is
    assert table[("diminish", "motion")] is M.SHRINKING
    assert table[("lea", "background")] is B.GRASS and table[("hayfield", "background")]
    assert ("hay meadow", "background") not in table  # a place reaches one step only
    assert ("steppe", "background") not in table  # "plain" is an adjective here
    assert table[("three-sided", "shape")] is S.TRIANGLE
