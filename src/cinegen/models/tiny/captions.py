"""Captions for toy-world scenes: templates crossed with the synonyms of ``vocab``.

Training captions draw only on ``TRAIN_TEMPLATES`` and the ``train`` synonyms; paraphrase
captions only on ``PARAPHRASE_TEMPLATES`` and the ``paraphrase`` synonyms, wording a model
never sees in training. Every template names the objects in scene order, each object's colour,
shape and motion before the next object's, so the first of each names the first object.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TypeVar

import numpy as np

from cinegen.models.tiny.scene import ObjectSpec, Scene
from cinegen.models.tiny.vocab import (
    BACKGROUND_WORDS,
    COLOR_WORDS,
    MOTION_WORDS,
    SHAPE_WORDS,
    SIZE_WORDS,
)

T = TypeVar("T")

# Slots: {bg} background noun; per object i: {obj<i>} "a small red ball", {verb<i>} "drifts to
# the left", {ing<i>} "drifting to the left".
TRAIN_TEMPLATES: dict[int, tuple[str, ...]] = {
    1: (
        "{obj1} {verb1} over the {bg}",
        "{bg} scene: {obj1} {ing1}",
        "{obj1} {ing1} in front of the {bg}",
        "the {bg}, with {obj1} {ing1}",
        "video of {obj1} {ing1} against the {bg}",
        "{obj1} {verb1}; background: {bg}",
        "{obj1} {ing1} across the {bg}",
        "on the {bg}, {obj1} {verb1}",
        "{obj1} {ing1}, {bg} behind it",
    ),
    2: (
        "two objects over the {bg}: {obj1} {ing1} and {obj2} {ing2}",
        "{obj1} {verb1} while {obj2} {verb2}, {bg} background",
        "{bg} scene with {obj1} {ing1} and {obj2} {ing2}",
    ),
}
PARAPHRASE_TEMPLATES: dict[int, tuple[str, ...]] = {
    1: (
        "footage in which {obj1} {verb1} before the {bg}",
        "against a backdrop of {bg}, {obj1} {verb1}",
        "clip: {bg}; subject: {obj1}; action: {ing1}",
        "we see {obj1} {ing1} somewhere above the {bg}",
    ),
    2: (
        "against a backdrop of {bg}, {obj1} {verb1} and {obj2} {verb2}",
        "a pair of shapes before the {bg}: first {obj1} {ing1}, then {obj2} {ing2}",
    ),
}
LARGE_FROM = 0.33  # object size (fraction of the frame) from which captions may say "large"
ADJECTIVE_P = 0.5  # how often a caption mentions size at all


def _pick(rng: np.random.Generator, values: Sequence[T]) -> T:
    return values[int(rng.integers(len(values)))]


def _object_phrase(obj: ObjectSpec, rng: np.random.Generator, paraphrase: bool) -> str:
    words = [_pick(rng, COLOR_WORDS[obj.color].pick(paraphrase))]
    words.append(_pick(rng, SHAPE_WORDS[obj.shape].pick(paraphrase)))
    if rng.random() < ADJECTIVE_P:
        words.insert(0, _pick(rng, SIZE_WORDS[obj.size >= LARGE_FROM].pick(paraphrase)))
    article = "an" if words[0][0] in "aeiou" else "a"
    return " ".join([article, *words])


def caption(scene: Scene, rng: np.random.Generator, *, paraphrase: bool = False) -> str:
    """A caption of ``scene`` in one of many phrasings, held-out wording if ``paraphrase``."""
    templates = (PARAPHRASE_TEMPLATES if paraphrase else TRAIN_TEMPLATES)[len(scene.objects)]
    template = _pick(rng, templates)
    slots = {"bg": _pick(rng, BACKGROUND_WORDS[scene.background].pick(paraphrase))}
    for i, obj in enumerate(scene.objects, start=1):
        slots[f"obj{i}"] = _object_phrase(obj, rng, paraphrase)
        slots[f"verb{i}"], slots[f"ing{i}"] = _pick(rng, MOTION_WORDS[obj.motion].pick(paraphrase))
    return template.format(**slots)
