"""Output moderation: what a model made is looked at before any file of it is kept."""

from __future__ import annotations

import numpy as np
import pytest

from cinegen.config import Settings
from cinegen.engine.engine import Engine
from cinegen.safety import output
from cinegen.safety.moderation import DEFAULT_THRESHOLD, ContentPolicyViolation
from cinegen.spec import parse_spec


class Flagging:
    """Stands in for NudeNet's detector where a test needs a detection (the suite ships no
    such picture): it reports exposed breasts in every frame, with ``score``."""

    def __init__(self, score: float) -> None:
        self.score, self.calls = score, 0

    def detect(self, image: bytes) -> list[dict]:
        self.calls += 1
        assert image[:2] == b"BM"  # a frame, encoded for the detector
        return [{"class": "FEMALE_BREAST_EXPOSED", "score": self.score, "box": [0, 0, 9, 9]},
                {"class": "FACE_FEMALE", "score": 0.99, "box": [0, 0, 9, 9]}]  # fmt: skip


@pytest.fixture(scope="module")
def frames():
    engine = Engine(Settings(default_model="cinegen-tiny"))
    spec = parse_spec({"prompt": "a red circle moving right over the ocean", "width": 96,
                       "height": 96, "n_frames": 24, "seed": 4})  # fmt: skip
    return engine.run(spec).variant(0)


@pytest.mark.slow  # loads NudeNet and renders
def test_the_real_detector_passes_the_embedded_model_s_world(frames):
    assert output.nudity(frames) < DEFAULT_THRESHOLD
    assert not output.check_output(frames, Settings()).flagged


def test_a_detection_withholds_the_output_unless_the_policy_allows_it(monkeypatch):
    frames = np.full((24, 96, 96, 3), 128, np.uint8)  # what the detector says is all that counts
    fake = Flagging(0.91)
    monkeypatch.setattr(output, "_detector", lambda: fake)
    with pytest.raises(ContentPolicyViolation) as caught:
        output.check_output(frames, Settings())
    assert caught.value.is_output_rejection and caught.value.result.reasons == ["sexual"]
    assert "withheld" in str(caught.value) and fake.calls == output.SAMPLES
    others = [c for c in output.CATEGORIES if c != "sexual"]
    assert not output.check_output(frames, Settings(moderation_categories=others)).flagged
    fake.score = 0.4  # below the threshold
    assert not output.check_output(frames, Settings()).flagged
