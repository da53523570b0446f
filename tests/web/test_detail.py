"""The detail view of one video: a player that steps frame by frame, the record and its
provenance, downloads, and Delete behind a question."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import pytest
from playwright.sync_api import Locator, Page, expect

from .harness import (
    SORA_FPS,
    TOY_PROMPT,
    Studio,
    StudioKey,
    assert_accessible,
    assert_video_plays,
    described,
    screenshot,
    signed_in,
)

SEED = 11
DESKTOP = {"viewport": {"width": 1280, "height": 800}}
PHONE = {"viewport": {"width": 375, "height": 812}, "is_mobile": True, "has_touch": True}
# Every test here opens a video that the module renders once.
pytestmark = pytest.mark.slow


@dataclass(frozen=True)
class Video:
    key: StudioKey
    task: dict[str, Any]

    @property
    def id(self) -> str:
        return str(self.task["generations"][0]["id"])


@pytest.fixture(scope="module")
def video(studio: Studio) -> Video:
    """One quick draft, shared by the module's tests that leave it as it is."""
    key = studio.key()
    return Video(key, studio.video(key, seed=SEED))


def opened(page: Page, key: StudioKey, generation_id: str) -> Locator:
    """Sign in and open the video's page; its <video>, once its first frame is decoded."""
    signed_in(page, key)
    page.goto(f"/library/{generation_id}")
    expect(page.get_by_role("heading", level=1)).to_have_text(TOY_PROMPT)
    player = page.get_by_role("group", name=re.compile("^Video: Space plays or pauses"))
    shown = player.locator("video")
    page.wait_for_function("(v) => v.readyState >= 2", arg=shown.element_handle())
    return shown


def current_time(video: Locator) -> float:
    return float(video.evaluate("(v) => v.currentTime"))


def test_the_video_plays_and_pause_stops_it(studio, video, page):
    shown = opened(page, video.key, video.id)
    controls = page.get_by_role("group", name="Player controls")
    # Looping, it still plays when Pause is pressed, however slow the machine (2 s end it).
    controls.get_by_role("checkbox", name="Loop").check()
    assert_video_plays(page, shown, 2.0)
    expect(controls.get_by_role("button", name="Pause")).to_be_visible()

    controls.get_by_role("button", name="Pause").click()
    expect(controls.get_by_role("button", name="Play")).to_be_visible()
    assert shown.evaluate("(v) => v.paused")
    stopped = current_time(shown)
    page.wait_for_timeout(300)
    assert current_time(shown) == stopped

    controls.get_by_role("button", name="Play").click()
    expect(controls.get_by_role("button", name="Pause")).to_be_visible()
    page.wait_for_function(
        "([v, t]) => !v.paused && v.currentTime !== t", arg=[shown.element_handle(), stopped]
    )


def test_next_and_previous_frame_step_one_frame_while_paused(studio, video, page):
    shown = opened(page, video.key, video.id)
    controls = page.get_by_role("group", name="Player controls")
    position = controls.get_by_role("status")
    expect(position).to_have_text(re.compile(r"^Frame 1 of 60 · 0\.00 s of 2\.00 s"))

    controls.get_by_role("button", name="Next frame").click()
    expect(position).to_have_text(re.compile("^Frame 2 of 60"))
    second = current_time(shown)
    controls.get_by_role("button", name="Next frame").click()
    expect(position).to_have_text(re.compile("^Frame 3 of 60"))
    third = current_time(shown)
    controls.get_by_role("button", name="Previous frame").click()
    expect(position).to_have_text(re.compile("^Frame 2 of 60"))

    # (the media clock counts microseconds)
    assert third - second == pytest.approx(1 / SORA_FPS, abs=1e-5)
    assert current_time(shown) == pytest.approx(second, abs=1e-5)
    assert shown.evaluate("(v) => v.paused")
    expect(controls.get_by_role("button", name="Play")).to_be_visible()


def test_the_loop_checkbox_makes_the_video_repeat(studio, video, page):
    shown = opened(page, video.key, video.id)
    loop = page.get_by_role("checkbox", name="Loop")
    expect(loop).not_to_be_checked()
    assert not shown.evaluate("(v) => v.loop")
    loop.check()
    assert shown.evaluate("(v) => v.loop")
    loop.uncheck()
    assert not shown.evaluate("(v) => v.loop")


def test_the_record_and_provenance_say_how_it_was_made_and_marked(
    studio, video, new_page, tmp_path
):
    page = new_page(**DESKTOP)
    opened(page, video.key, video.id)
    facts = described(page.get_by_role("region", name="Record"))
    assert {k: facts[k] for k in ("Prompt", "Model", "Preset", "Style", "Seed", "Size")} == {
        "Prompt": TOY_PROMPT,
        "Model": "cinegen-tiny",
        "Preset": "turbo",
        "Style": "natural",
        "Seed": str(SEED),
        "Size": "426×240",
    }
    assert facts["Length"] == "60 frames · 2.00 s at 30 fps"
    # cinegen-tiny sounds its toy world: the track is mastered to −16 LUFS (±1)
    sound = re.fullmatch(r"48 kHz stereo AAC, −(\d+\.\d) LUFS", facts["Sound"])
    assert sound and abs(float(sound[1]) - 16) <= 1, facts["Sound"]
    assert facts["C2PA"] == "signed Content Credentials (C2PA manifest) in the file"
    assert facts["Visible mark"] == "“cinegen” in the corner of every frame"
    assert re.fullmatch(
        r"naming this server and task \([0-9a-f]+-[0-9a-f]+\), kept through re-encoding",
        facts["Invisible watermark"],
    ), facts["Invisible watermark"]
    screenshot(page, "detail", tmp_path)


def test_download_video_saves_the_mp4_and_download_thumbnail_its_picture(studio, video, page):
    opened(page, video.key, video.id)
    with page.expect_download() as downloading:
        page.get_by_role("link", name="Download video").click()
    download = downloading.value
    assert download.suggested_filename == f"{video.id}-video.mp4"
    with open(download.path(), "rb") as saved:
        head = saved.read(12)
    assert head[4:8] == b"ftyp", head  # an MP4 opens with its file-type box
    href = page.get_by_role("link", name="Download video").get_attribute("href")
    assert page.request.get(href).headers["content-type"] == "video/mp4"

    with page.expect_download() as downloading:
        page.get_by_role("link", name="Download thumbnail").click()
    thumbnail = downloading.value
    assert thumbnail.suggested_filename == f"{video.id}-thumbnail.webp"
    with open(thumbnail.path(), "rb") as saved:
        head = saved.read(12)
    assert head[:4] == b"RIFF" and head[8:12] == b"WEBP", head


def test_keep_it_closes_the_question_and_keeps_the_video(studio, video, page):
    opened(page, video.key, video.id)
    page.get_by_role("button", name="Delete").click()
    question = page.get_by_role("dialog", name="Delete this video?")
    expect(question).to_be_visible()
    expect(question.get_by_role("button", name="Keep it")).to_be_focused()
    question.get_by_role("button", name="Keep it").click()
    expect(question).to_be_hidden()
    expect(page.get_by_role("button", name="Delete")).to_be_focused()
    assert page.url.endswith(f"/library/{video.id}")
    assert page.request.get(f"/v1/generations/{video.id}").status == 200


def test_delete_after_confirming_removes_the_video_and_returns_to_the_library(studio, page):
    key = studio.key()
    doomed = Video(key, studio.video(key, seed=SEED + 1))
    opened(page, key, doomed.id)
    page.get_by_role("button", name="Delete").click()
    page.get_by_role("dialog", name="Delete this video?").get_by_role(
        "button", name="Confirm"
    ).click()

    expect(page).to_have_url(re.compile("/library$"))
    expect(page.get_by_role("status")).to_have_text(
        "No videos yet: what you make on the Create page appears here."
    )
    expect(page.get_by_role("list", name="Your videos").get_by_role("listitem")).to_have_count(0)
    assert page.request.get(f"/v1/generations/{doomed.id}").status == 404
    assert page.request.get(f"/backend/video_gen/{doomed.task['id']}").status == 404


def test_another_accounts_video_is_not_found(studio, video, page, console):
    console.allow_failed_request(404)  # the page asks, and is told there is no such video
    signed_in(page, studio.key())
    page.goto(f"/library/{video.id}")
    expect(page.get_by_role("alert")).to_have_text(
        "There is no such video in your library (it may have been deleted or expired)."
    )
    expect(page.get_by_role("button", name="Delete")).to_be_hidden()
    expect(page.get_by_text(TOY_PROMPT)).to_have_count(0)


def test_the_detail_page_passes_axe(studio, video, page):
    opened(page, video.key, video.id)
    expect(page.get_by_label("Blend with")).to_be_visible()
    assert_accessible(page)


def test_on_a_phone_the_detail_page_fits_the_screen(studio, video, new_page):
    phone = new_page(**PHONE)
    shown = opened(phone, video.key, video.id)
    assert phone.evaluate("document.documentElement.scrollWidth") <= 375
    box = shown.bounding_box()
    assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= 375, box
    expect(phone.get_by_role("button", name="Play")).to_be_visible()
