"""What a person makes from a video on its detail view: each operation started from the
page, followed to Done in the queue, and made from that video as asked (its spec)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import pytest
from playwright.sync_api import Locator, Page, expect

from .harness import (
    RENDER_TIMEOUT_MS,
    TOY_PROMPT,
    Studio,
    StudioKey,
    assert_video_plays,
    draft_request,
    queued_task,
    signed_in,
    video_gen_ended,
)

SEED = 21
PARTNER_PROMPT = "a blue circle moves left over the ocean"
BOX_FIELDS = ("Box left (x)", "Box top (y)", "Box width (w)", "Box height (h)")
# Every test here starts from the videos the module renders once; most render again.
pytestmark = pytest.mark.slow


@dataclass(frozen=True)
class Sources:
    key: StudioKey
    video: dict[str, Any]  # the video every operation starts from (2 s, 60 frames)
    partner: dict[str, Any]  # another video of the same library, to blend with

    @property
    def id(self) -> str:
        return str(self.video["generations"][0]["id"])


@pytest.fixture(scope="module")
def sources(studio: Studio) -> Sources:
    key = studio.key()
    video = studio.video(key, seed=SEED)
    partner = studio.video(key, seed=SEED + 1, prompt=PARTNER_PROMPT)
    return Sources(key, video, partner)


def operation(page: Page, key: StudioKey, generation_id: str, title: str) -> Locator:
    """Sign in, open the video, and find the operation's form by its heading."""
    signed_in(page, key)
    page.goto(f"/library/{generation_id}")
    expect(page.get_by_role("heading", level=1)).to_have_text(TOY_PROMPT)
    expect(page.get_by_role("heading", name="From this video")).to_be_visible()
    return page.get_by_role("form", name=title, exact=True)


def followed_to_done(page: Page, form: Locator, prompt: str) -> dict[str, Any]:
    """From the form's "Started" note to the queue, where the task with ``prompt`` ends
    Done; the task as cinegen stores it (GET /v1/tasks/{id}: its spec)."""
    note = form.get_by_role("status").filter(has_text=re.compile("^Started"))
    note.get_by_role("link", name="see the queue").click()
    task = queued_task(page, prompt)
    expect(task.get_by_text("Done", exact=True)).to_be_visible(timeout=RENDER_TIMEOUT_MS)
    task_id = task.get_attribute("id").removeprefix("task_")
    stored: dict[str, Any] = page.request.get(f"/v1/tasks/{task_id}").json()
    return stored


def opened_result(page: Page, prompt: str) -> dict[str, str]:
    """Open the finished task from the queue: its record, as its detail view lists it."""
    queued_task(page, prompt).get_by_role("link", name="Open").click()
    expect(page.get_by_role("heading", level=1)).to_have_text(prompt)
    record = page.get_by_role("region", name="Record")
    expect(record.get_by_role("term").first).to_be_visible()
    terms = record.get_by_role("term").all_inner_texts()
    return dict(zip(terms, record.get_by_role("definition").all_inner_texts(), strict=True))


def test_remix_with_a_strength(studio, sources, page):
    form = operation(page, sources.key, sources.id, "Remix")
    prompt = "a red circle moves right over the ocean"
    form.get_by_label("Remix prompt").fill(prompt)
    form.get_by_role("radio", name="strong").check()
    form.get_by_role("button", name="Remix").click()

    spec = followed_to_done(page, form, prompt)["spec"]
    assert spec["operation"] == "remix"
    assert spec["source"]["generation_ids"] == [sources.id]
    assert spec["source"]["strength"] == "strong"


@pytest.mark.parametrize(
    ("direction", "named"),
    [("forward", "Forward (after its end)"), ("backward", "Backward (before its start)")],
)
def test_extend_by_a_second(studio, sources, page, direction, named):
    form = operation(page, sources.key, sources.id, "Extend")
    prompt = f"a red circle moves right over a starry night sky, extended {direction}"
    form.get_by_label("Extend prompt").fill(prompt)
    form.get_by_label("Seconds to add").fill("1")
    form.get_by_role("radio", name=named).check()
    form.get_by_role("button", name="Extend").click()

    spec = followed_to_done(page, form, prompt)["spec"]
    assert spec["operation"] == "extend"
    assert spec["source"]["generation_ids"] == [sources.id]
    assert spec["source"]["direction"] == direction
    record = opened_result(page, prompt)
    assert record["Length"] == "90 frames · 3.00 s at 30 fps"  # its 60 and 30 more
    assert record["Made by"] == f"extend of {sources.id}"


def test_a_24_fps_video_extended_keeps_its_rate(studio, sources, page):
    """A video made at 24 fps (as the OpenAI dialect and the CLI make them) is extended at
    24 fps: its own frames keep their timing, the new second is 24 frames."""
    body = {**draft_request(TOY_PROMPT, seed=SEED), "fps": 24, "n_frames": 48}
    made = studio.api(sources.key).post("/backend/video_gen", json=body).json()
    film = video_gen_ended(studio.api(sources.key), made["id"])["generations"][0]["id"]
    form = operation(page, sources.key, film, "Extend")
    prompt = "a red circle moves right over a starry night sky, at 24 fps"
    form.get_by_label("Extend prompt").fill(prompt)
    form.get_by_label("Seconds to add").fill("1")
    form.get_by_role("button", name="Extend").click()

    spec = followed_to_done(page, form, prompt)["spec"]
    assert (spec["fps"], spec["n_frames"]) == (24, 72)
    assert opened_result(page, prompt)["Length"] == "72 frames · 3.00 s at 24 fps"


def test_make_it_loop_with_a_one_second_bridge(studio, sources, page):
    form = operation(page, sources.key, sources.id, "Make it loop")
    prompt = "a red circle loops over a starry night sky"
    form.get_by_label("Loop prompt").fill(prompt)
    form.get_by_label("Seconds of the bridge").fill("1")
    form.get_by_role("button", name="Loop", exact=True).click()

    spec = followed_to_done(page, form, prompt)["spec"]
    assert spec["operation"] == "loop"
    assert spec["source"]["generation_ids"] == [sources.id]
    assert opened_result(page, prompt)["Length"] == "90 frames · 3.00 s at 30 fps"


def test_blend_with_another_video_of_the_library(studio, sources, page):
    form = operation(page, sources.key, sources.id, "Blend")
    partner = form.get_by_label("Blend with").get_by_role(
        "option", name=re.compile(f"^{re.escape(PARTNER_PROMPT)} · ")
    )
    expect(partner).to_have_count(1)
    form.get_by_label("Blend with").select_option(label=partner.inner_text())
    prompt = "a red circle turns into a blue circle"
    form.get_by_label("Blend prompt").fill(prompt)
    form.get_by_role("button", name="Blend").click()

    spec = followed_to_done(page, form, prompt)["spec"]
    assert spec["operation"] == "blend"
    assert spec["source"]["generation_ids"] == [sources.id, sources.partner["generations"][0]["id"]]


def test_recut_keeping_a_range(studio, sources, page):
    form = operation(page, sources.key, sources.id, "Re-cut")
    form.get_by_label("Keep from").fill("10")
    form.get_by_label("Keep to").fill("40")
    expect(form.get_by_label("Keep from")).to_have_attribute("aria-valuetext", "frame 11 · 0.33 s")
    expect(form.get_by_label("Keep to")).to_have_attribute("aria-valuetext", "frame 41 · 1.33 s")
    prompt = "a red circle moves right over a starry night sky, re-cut"
    form.get_by_label("Re-cut prompt").fill(prompt)
    form.get_by_role("button", name="Re-cut").click()

    spec = followed_to_done(page, form, prompt)["spec"]
    assert spec["operation"] == "recut"
    assert spec["source"]["generation_ids"] == [sources.id]
    assert (spec["source"]["start_frame"], spec["source"]["end_frame"]) == (10, 40)
    assert opened_result(page, prompt)["Length"] == "60 frames · 2.00 s at 30 fps"


def test_inpaint_a_box_drawn_on_the_frame(studio, sources, page):
    form = operation(page, sources.key, sources.id, "Inpaint")
    canvas = form.get_by_role("img", name="The paused frame, with the box to regenerate")
    canvas.scroll_into_view_if_needed()
    box = canvas.bounding_box()
    assert box is not None

    def at(x: float, y: float) -> tuple[float, float]:
        return box["x"] + x * box["width"], box["y"] + y * box["height"]

    page.mouse.move(*at(0.1, 0.2))
    page.mouse.down()
    page.mouse.move(*at(0.4, 0.5), steps=4)
    page.mouse.move(*at(0.6, 0.7), steps=4)
    page.mouse.up()
    drawn = [float(form.get_by_label(name).input_value()) for name in BOX_FIELDS]
    assert drawn == pytest.approx([0.1, 0.2, 0.5, 0.5], abs=0.02)
    prompt = "a yellow circle over a starry night sky"
    form.get_by_label("Inpaint prompt").fill(prompt)
    form.get_by_role("button", name="Inpaint").click()

    spec = followed_to_done(page, form, prompt)["spec"]
    assert spec["operation"] == "inpaint"
    assert spec["source"]["generation_ids"] == [sources.id]
    assert spec["source"]["region"] == pytest.approx([0.1, 0.2, 0.6, 0.7], abs=0.02)


def test_start_the_scene_planners_next_shot(studio, sources, page):
    form = operation(page, sources.key, sources.id, "Next shots")
    shot = sources.video["actions"][0]
    form.get_by_role("button", name=f"Start next shot 1: {shot}").click()

    stored = followed_to_done(page, form, shot)
    assert stored["spec"]["prompt"] == shot
    assert stored["spec"]["operation"] == "simple_compose"
    assert stored["generations"][0]["seed"] == SEED  # made like the shot before it


def test_make_a_character_and_mention_it_on_the_create_page(studio, sources, page):
    form = operation(page, sources.key, sources.id, "Character")
    form.get_by_label("Character name").fill("redball")
    form.get_by_label("Character description (optional)").fill("a red circle")
    form.get_by_role("button", name="Make character").click()
    note = form.get_by_role("status")
    expect(note).to_contain_text("Character @redball made")

    note.get_by_role("link", name="Create page").click()
    prompt = page.get_by_label("Prompt", exact=True)
    prompt.press_sequentially("a close-up of @")
    option = page.get_by_role("listbox", name="Characters").get_by_role("option", name="@redball")
    expect(option).to_be_visible()
    prompt.press("Enter")
    expect(prompt).to_have_value("a close-up of @redball ")


def test_share_without_review_gives_a_public_page_anyone_can_watch(studio, sources, page, new_page):
    form = operation(page, sources.key, sources.id, "Sharing")
    expect(form.get_by_role("status")).to_have_text("Not shared: only you can see it.")
    form.get_by_role("button", name="Share").click()
    expect(form.get_by_role("status")).to_contain_text("Approved: public at")
    link = form.get_by_role("status").get_by_role("link").get_attribute("href")
    assert link is not None and re.search(r"/share/[\w-]+$", link), link

    anyone = new_page()  # not signed in
    anyone.goto(link)
    assert_video_plays(anyone, anyone.locator("video"), 2.0)
    expect(anyone.get_by_role("cell", name=TOY_PROMPT)).to_be_visible()
