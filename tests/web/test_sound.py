"""Sound on the Create page and in the detail view: asked for, refused where the model is
silent, left off, and described as the file carries it."""

from __future__ import annotations

import io
import re
from typing import Any

import av
import pytest
from playwright.sync_api import Page, expect

from .harness import (
    RENDER_TIMEOUT_MS,
    TOY_PROMPT,
    assert_accessible,
    described,
    fill_draft,
    queued_task,
    signed_in,
)

SOUND_MODEL, SILENT_MODEL = "ltx-2-tiny-random", "wan-tiny-random"
SEED = 13


@pytest.fixture(scope="module")
def studio_settings() -> dict[str, object]:
    # A tiny-random default: the menu offers the test twins, the one that makes sound too.
    return {"default_model": SOUND_MODEL}


def created(page: Page, prompt: str, *, model: str, sound: str) -> dict[str, Any]:
    """Fill the form with ``model`` and Sound ``sound``, press Create, wait for Done: the
    task as the Sora dialect answers it."""
    fill_draft(page, prompt, seed=SEED)
    page.get_by_label("Model").select_option(model)
    page.get_by_label("Sound").select_option(label=sound)
    page.get_by_role("button", name="Create", exact=True).click()
    task = queued_task(page, prompt)
    expect(task.get_by_text("Done", exact=True)).to_be_visible(timeout=RENDER_TIMEOUT_MS)
    task_id = task.get_attribute("id").removeprefix("task_")
    made: dict[str, Any] = page.request.get(f"/backend/video_gen/{task_id}").json()
    return made


def audio_channels(page: Page, url: str) -> int | None:
    """The downloaded MP4's sound track's channels, None if it has none."""
    with av.open(io.BytesIO(page.request.get(url).body())) as container:
        tracks = container.streams.audio
        return tracks[0].codec_context.channels if tracks else None


@pytest.mark.slow  # renders
def test_a_video_made_with_sound_on_carries_it_and_the_detail_describes_it(studio, page):
    signed_in(page, studio.key())
    page.get_by_label("Model").select_option(SOUND_MODEL)
    expect(page.get_by_label("Sound")).to_have_accessible_description(
        re.compile(f"{SOUND_MODEL} makes sound")
    )
    page.get_by_label("Audio prompt").fill('a door creaks, "hello"')
    made = created(page, TOY_PROMPT, model=SOUND_MODEL, sound="On")

    (generation,) = made["generations"]
    assert made["audio"] == "on" and generation["has_audio"] is True
    spec = page.request.get(f"/v1/tasks/{made['id']}").json()["spec"]
    assert spec["audio_prompt"] == 'a door creaks, "hello"'
    assert audio_channels(page, generation["url"]) == 2

    page.goto(f"/library/{generation['id']}")
    record = page.get_by_role("region", name="Record")
    expect(record.get_by_role("definition").first).to_have_text(TOY_PROMPT)
    facts = described(record)
    assert re.fullmatch(r"48 kHz stereo AAC, −1\d\.\d LUFS", facts["Sound"]), facts["Sound"]
    video = page.get_by_role("group", name=re.compile("^Video: Space plays")).locator("video")
    page.wait_for_function("(v) => v.readyState >= 2", arg=video.element_handle())
    assert video.evaluate("(v) => v.muted") is False  # it plays with its sound
    controls = page.get_by_role("group", name="Player controls")
    controls.get_by_role("checkbox", name="Mute").check()
    assert video.evaluate("(v) => v.muted") is True
    assert_accessible(page)


def test_sound_on_with_a_silent_model_is_refused_at_the_sound_select(studio, page, console):
    console.allow_failed_request(400)  # the refusal, shown at its field
    signed_in(page, studio.key())
    fill_draft(page, TOY_PROMPT, seed=SEED)
    page.get_by_label("Model").select_option(SILENT_MODEL)
    sound = page.get_by_label("Sound")
    expect(sound).to_have_accessible_description(re.compile(f"{SILENT_MODEL} makes no sound"))
    sound.select_option(label="On")
    page.get_by_role("button", name="Create", exact=True).click()

    # The refusal names the models that do make sound.
    expect(sound).to_have_accessible_description(re.compile(f"choose a model.*{SOUND_MODEL}"))
    expect(sound).to_have_attribute("aria-invalid", "true")
    expect(sound).to_be_focused()
    expect(page.get_by_role("region", name="Queue").get_by_role("listitem")).to_have_count(0)
    assert page.request.get("/backend/video_gen").json()["task_responses"] == []
    assert_accessible(page)


@pytest.mark.slow  # renders
def test_sound_off_makes_a_silent_video(studio, page):
    signed_in(page, studio.key())
    made = created(page, "a quiet starry night sky", model=SOUND_MODEL, sound="Off")
    (generation,) = made["generations"]
    assert made["audio"] == "off" and generation["has_audio"] is False
    assert audio_channels(page, generation["url"]) is None
