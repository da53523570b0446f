"""Making a video on the Create page: the form, the live queue, refusals at their fields."""

from __future__ import annotations

import io
import re

import pytest
from PIL import Image
from playwright.sync_api import expect

from ..conftest import first_frame_image
from .harness import (
    RENDER_TIMEOUT_MS,
    TOY_PROMPT,
    assert_video_plays,
    fill_draft,
    queued_task,
    record_queue,
    signed_in,
)

SEED = 7


@pytest.mark.slow
def test_a_video_is_created_watched_while_it_renders_and_plays(studio, page):
    signed_in(page, studio.key())
    seen = record_queue(page)
    fill_draft(page, TOY_PROMPT, seed=SEED)
    task = queued_task(page, TOY_PROMPT)
    # Held in the queue until the page follows it: a quick render could end before then.
    with studio.worker.paused():
        page.get_by_role("button", name="Create", exact=True).click()
        expect(task).to_contain_text("Queued")
    expect(task.get_by_text("Done", exact=True)).to_be_visible(timeout=RENDER_TIMEOUT_MS)
    shown = seen()
    assert any(0 < value < 1 for value in shown["progress"]), shown["progress"]
    assert shown["previews"] and all(p.startswith("data:image/jpeg") for p in shown["previews"])
    assert any(state.startswith("Rendering") for state in shown["states"]), shown["states"]

    task_id = task.get_attribute("id").removeprefix("task_")
    made = page.request.get(f"/backend/video_gen/{task_id}").json()
    generation = made["generations"][0]
    assert (made["width"], made["height"], made["n_frames"]) == (426, 240, 60)
    assert generation["seed"] == SEED
    expect(task.get_by_role("link", name="Open")).to_have_attribute(
        "href", f"/library/{generation['id']}"
    )
    # Made on this page, it plays right there: a prompt and one click give a video.
    assert_video_plays(page, task.get_by_label(f"Video of “{TOY_PROMPT}”"), 2.0)


def test_a_prompt_the_policy_refuses_is_named_at_the_prompt_field(studio, page, console):
    console.allow_failed_request(400)  # the refusal, shown at its field
    signed_in(page, studio.key())
    fill_draft(page, "Barack Obama dancing in a nightclub", seed=SEED)
    page.get_by_role("button", name="Create", exact=True).click()

    prompt = page.get_by_label("Prompt", exact=True)
    expect(prompt).to_have_accessible_description(re.compile("content policy: public-figures"))
    expect(prompt).to_have_attribute("aria-invalid", "true")
    expect(prompt).to_be_focused()
    expect(page.get_by_text(re.compile("refused by this server's content policy"))).to_be_visible()
    expect(page.get_by_role("region", name="Queue").get_by_role("listitem")).to_have_count(0)


def test_a_seed_beyond_the_largest_is_named_at_the_seed_field(studio, page, console):
    console.allow_failed_request(400)
    signed_in(page, studio.key())
    fill_draft(page, TOY_PROMPT, seed=2**32)
    page.get_by_role("button", name="Create", exact=True).click()

    seed = page.get_by_label("Seed")
    expect(seed).to_have_accessible_description(re.compile("less than or equal to 4294967295"))
    expect(seed).to_have_attribute("aria-invalid", "true")
    expect(page.get_by_role("region", name="Queue").get_by_role("listitem")).to_have_count(0)


@pytest.mark.slow
def test_a_storyboard_is_made_of_the_shots_in_the_order_shown(studio, page):
    signed_in(page, studio.key())
    fill_draft(page, "two shots of a starry night sky", seed=SEED)
    page.get_by_label("Tell it in shots").check()
    page.get_by_label("Shot 1 prompt").fill("a red circle moves right over a starry night sky")
    page.get_by_label("Shot 2 prompt").fill("a blue circle moves left over a starry night sky")
    page.get_by_role("button", name="Add shot").click()
    page.get_by_label("Shot 3 prompt").fill("a green circle over the ocean")
    page.get_by_role("button", name="Remove shot 3").click()
    page.get_by_role("button", name="Move shot 2 up").click()
    # The shots swapped places, and their start times with them: put the times in order.
    expect(page.get_by_label("Shot 1 prompt")).to_have_value(
        "a blue circle moves left over a starry night sky"
    )
    page.get_by_label("Shot 1 starts at (seconds)").fill("0")
    page.get_by_label("Shot 2 starts at (seconds)").fill("1")
    expect(page.get_by_label("Shot 3 prompt")).to_have_count(0)
    # A picture half a second into shot 2 (its own timeline: frame 15 of it, 45 overall).
    picture = io.BytesIO()
    Image.fromarray(first_frame_image(64, 48)).save(picture, format="PNG")
    page.get_by_label("Shot 2 image", exact=True).set_input_files(
        files=[{"name": "cut.png", "mimeType": "image/png", "buffer": picture.getvalue()}]
    )
    page.get_by_label("Shot 2 image at (seconds into the shot)").fill("0.5")
    page.get_by_role("button", name="Create", exact=True).click()

    task = queued_task(page, "two shots of a starry night sky")
    expect(task.get_by_text("Done", exact=True)).to_be_visible(timeout=RENDER_TIMEOUT_MS)
    task_id = task.get_attribute("id").removeprefix("task_")
    spec = page.request.get(f"/v1/tasks/{task_id}").json()["spec"]
    assert [(s["prompt"], s["start_frame"]) for s in spec["storyboard"]] == [
        ("a blue circle moves left over a starry night sky", 0),
        ("a red circle moves right over a starry night sky", 30),
    ]
    assert spec["storyboard"][0]["media"] is None
    assert spec["storyboard"][1]["media"]["frame_index"] == 15


def test_shots_out_of_order_are_refused_at_the_storyboard(studio, page, console):
    console.allow_failed_request(400)
    signed_in(page, studio.key())
    fill_draft(page, "two shots of the ocean", seed=SEED)
    page.get_by_label("Tell it in shots").check()
    page.get_by_label("Shot 1 prompt").fill("a red circle over the ocean")
    page.get_by_label("Shot 2 prompt").fill("a blue circle over the ocean")
    page.get_by_label("Shot 2 starts at (seconds)").fill("1")
    page.get_by_role("button", name="Move shot 2 up").click()  # its start time moves with it
    page.get_by_role("button", name="Create", exact=True).click()

    storyboard = page.get_by_role("group", name="Storyboard")
    expect(storyboard.get_by_text(re.compile("must begin at 0 and increase"))).to_be_visible()
    expect(page.get_by_role("region", name="Queue").get_by_role("listitem")).to_have_count(0)


def test_a_picture_the_server_refuses_is_named_at_its_own_control(studio, page, console):
    console.allow_failed_request(400)
    signed_in(page, studio.key())
    fill_draft(page, TOY_PROMPT, seed=SEED)
    page.get_by_label("Image reference").set_input_files(
        files=[{"name": "notes.png", "mimeType": "image/png", "buffer": b"not a picture at all"}]
    )
    page.get_by_role("button", name="Create", exact=True).click()
    reference = page.get_by_label("Image reference")
    expect(reference).to_have_attribute("aria-invalid", "true")
    expect(reference).to_have_accessible_description(re.compile("must be an image"))
    assert page.request.get("/backend/video_gen").json()["task_responses"] == []
