"""Characters: a subject kept the same across generations.

A character is a name, a description and the reference it came from (an image or a short
video). A prompt mentions it as ``@name`` (``GenerationSpec.characters`` lists the ones it
may mention) and ``GenerationSpec.cast`` puts the description in the mention's place, so
every shot and every later video draws the same subject, on every model.

``describe`` reads a description from a reference with the embedded model's analyser, which
knows the toy world cinegen-tiny draws ("a red star"). It reads nothing useful from other
footage: there, the person creating the character gives the description ("a woman in a red
coat"). Backends that could condition on the reference pixels themselves (a reference-image
pipeline) have them in the store; none of the registered ones does yet.
"""

from __future__ import annotations

import math

import numpy as np

from cinegen.models.tiny.analyse import analyse

MIN_FRAMES = 8  # what the analyser needs; a still is repeated


def describe(frames: np.ndarray) -> str | None:
    """The main subject of ``frames`` (F, H, W, 3) uint8 as a prompt phrase, or None when
    there is none the analyser can name (no object, or no clear shape)."""
    if len(frames) < MIN_FRAMES:
        frames = np.concatenate([frames] * math.ceil(MIN_FRAMES / len(frames)))
    if min(frames.shape[1:3]) < 32:
        return None
    objects = analyse(frames).objects
    if not objects or objects[0].shape is None:
        return None
    return f"a {objects[0].color.value} {objects[0].shape.value}"
