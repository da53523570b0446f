"""Moderation of pictures: what a model made, before any file of it is kept, and what a
request uploads, before it is queued. Nudity on sampled frames,
found by NudeNet's detector (its ONNX model ships inside the ``nudenet`` wheel; nothing is
downloaded). A frame showing exposed breasts, genitals, buttocks or anus scores "sexual" by
the detector's confidence; the deployment's threshold and categories decide, as for
requests. A rejected output fails its task with ``content_policy_violation`` (the Sora
dialect's ``moderation_result.is_output_rejection``); no file of it is kept.
"""

from __future__ import annotations

import functools
from typing import Any

import numpy as np

from cinegen.config import Settings
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
