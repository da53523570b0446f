"""Moderation of pictures: what a model made, before any file of it is kept, and what a
request starts from (an upload, a file given to the CLI), before it is queued or rendered.
Nudity on sampled frames, found by NudeNet's detector (its ONNX model ships inside the
``nudenet`` wheel; nothing is downloaded). A frame showing exposed breasts, genitals,
buttocks or anus scores "sexual" by the detector's confidence; the deployment's threshold
and categories decide, as for requests. A rejected output fails its task with
``content_policy_violation`` (the Sora dialect's ``moderation_result.is_output_rejection``);
no file of it is kept.

Two things are not looked at again: the output of a model that cannot depict people
(``ModelEntry.depicts_people``: the detector reads the embedded model's soft blobs as skin),
and a given file this server made and signed itself, unchanged (it passed when it was made).
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

import numpy as np

from cinegen.config import Settings
from cinegen.provenance.identity import load_identity
from cinegen.provenance.manifest import signed_by
from cinegen.safety.moderation import (
    CATEGORIES,
    DEFAULT_THRESHOLD,
    ContentPolicyViolation,
    ModerationResult,
)

SAMPLES = 4  # frames looked at per video, evenly spaced
NUDITY = frozenset({
    "FEMALE_BREAST_EXPOSED", "FEMALE_GENITALIA_EXPOSED", "MALE_GENITALIA_EXPOSED",
    "BUTTOCKS_EXPOSED", "ANUS_EXPOSED",
})  # fmt: skip


@functools.cache
def _detector() -> Any:
    from nudenet import NudeDetector

    return NudeDetector()


def nudity(frames: np.ndarray) -> float:
    """The detector's highest confidence of nudity over ``SAMPLES`` frames of ``frames``
    (F, H, W, 3) uint8."""
    import cv2

    picks = np.unique(np.linspace(0, len(frames) - 1, SAMPLES).round().astype(int))
    score = 0.0
    for i in picks:
        ok, encoded = cv2.imencode(".bmp", np.ascontiguousarray(frames[i][..., ::-1]))
        if not ok:
            continue
        for found in _detector().detect(encoded.tobytes()):
            if found["class"] in NUDITY:
                score = max(score, float(found["score"]))
    return score


def check_output(frames: np.ndarray, settings: Settings, field: str = "output") -> ModerationResult:
    """Raise ``ContentPolicyViolation`` naming ``field`` (``output``, or the request field an
    uploaded picture came in) if the frames break the policy."""
    scores = dict.fromkeys(CATEGORIES, 0.0)
    scores["sexual"] = round(nudity(frames), 4)
    threshold = settings.moderation_thresholds.get("sexual", DEFAULT_THRESHOLD)
    flagged = "sexual" in settings.moderation_categories and scores["sexual"] >= threshold
    flags = {c: flagged and c == "sexual" for c in CATEGORIES}
    result = ModerationResult(flagged, flags, scores)
    if flagged:
        raise ContentPolicyViolation(result, field=field)
    return result


def check_given(
    frames: np.ndarray, settings: Settings, field: str, path: Path | None = None
) -> None:
    """A picture or clip a request starts from, by the policy as an output would be
    (``ContentPolicyViolation`` naming ``field``); skipped when output moderation is off, and
    for a ``path`` this server signed itself, unchanged since."""
    if not settings.moderate_outputs:
        return
    if path is not None and settings.c2pa and signed_by(path, load_identity(settings)):
        return
    check_output(frames, settings, field)
