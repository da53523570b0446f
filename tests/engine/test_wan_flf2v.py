"""Wan 2.1 FLF2V (first and last frame to video): its tiny twin renders the frames between
two given pictures at exactly the asked size and length, and a request without both
pictures is refused before any weights load, saying what to send."""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np
import pytest

from cinegen.config import Settings
from cinegen.engine.backends.diffusers import families
from cinegen.engine.engine import Engine
from cinegen.errors import SpecError
from cinegen.registry import MODELS
from cinegen.spec import parse_spec
from cinegen.spec_parts import InpaintItem

RED, BLUE = (220, 30, 30), (30, 30, 220)
PICTURES = {
    name: np.full((1, 48, 80, 3), c, np.uint8) for name, c in (("red", RED), ("blue", BLUE))
}
FIRST = {"type": "image", "upload_id": "red", "frame_index": 0}
LAST = {"type": "image", "upload_id": "blue", "frame_index": -1}


def media(item: InpaintItem) -> np.ndarray:
    return PICTURES[str(item.upload_id)]


def request(**more: Any) -> dict[str, Any]:
    base = {"prompt": "a ball rolling", "width": 80, "height": 48, "fps": 12, "seed": 5}
    return {**base, "n_frames": 12, **more}


def test_the_row_is_first_and_last_frame_only() -> None:
    entry = MODELS["wan-flf2v"]
    assert entry.weights == "Wan-AI/Wan2.1-FLF2V-14B-720P-diffusers"
    assert entry.tasks == ["first and last frame, both required"]
    assert MODELS["wan-flf2v-tiny-random"].family == "wan-flf2v"


@pytest.mark.slow
@pytest.mark.usefixtures("one_thread")
def test_the_twin_renders_between_the_two_frames(monkeypatch: pytest.MonkeyPatch) -> None:
    row = families.FAMILIES["wan-flf2v"]
    assert row.condition is not None
    seen: list[dict[str, Any]] = []

    def spy(pipe: Any, job: Any, n: int) -> dict[str, Any]:
        assert row.condition is not None
        seen.append(row.condition(pipe, job, n))
        return seen[-1]

    monkeypatch.setitem(families.FAMILIES, "wan-flf2v", dataclasses.replace(row, condition=spy))
    engine = Engine(Settings(default_model="wan-flf2v-tiny-random", visible_mark=False))
    video = engine.run(parse_spec(request(inpaint_items=[FIRST, LAST])), media=media).variant(0)
    assert video.shape == (12, 48, 80, 3)  # the size and length asked, not the native 4k+1
    # Both pictures reached the pipeline, each as given.
    assert [sorted(kwargs) for kwargs in seen] == [["image", "last_image"]]
    assert seen[0]["image"].getpixel((5, 5)) == RED
    assert seen[0]["last_image"].getpixel((5, 5)) == BLUE
    # The video ends on the given last frame and starts on the first.
    assert np.abs(video[-1].astype(int) - PICTURES["blue"][0]).max() <= 2
    assert np.abs(video[0].astype(int) - PICTURES["red"][0]).max() <= 2
    assert np.abs(video[5].astype(int) - PICTURES["blue"][0]).mean() > 10  # made, not copied


@pytest.mark.parametrize("model", ["wan-flf2v", "wan-flf2v-tiny-random"])
@pytest.mark.parametrize(
    ("items", "got"),
    [([], "none"), ([FIRST], ["image at 0"]), ([LAST], ["image at 11"])],
    ids=["text alone", "first frame alone", "last frame alone"],
)
def test_a_request_without_both_frames_is_refused_saying_what_to_send(
    model: str, items: list[dict[str, Any]], got: Any
) -> None:
    engine = Engine(Settings(default_model=model, visible_mark=False))
    with pytest.raises(SpecError) as e:
        engine.plan(parse_spec(request(inpaint_items=items)))
    assert e.value.field == "inpaint_items"
    assert e.value.message.startswith(f"both frames required: {model} ")
    assert e.value.value == got
    assert e.value.allowed == "an image at frame_index 0 and an image at frame_index -1 (the last)"
