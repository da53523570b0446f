"""The queue beside the Create form: durable across reloads, cancellable, the account's own."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from .harness import (
    TOY_PROMPT,
    assert_image_shows,
    draft_request,
    fill_draft,
    queued_task,
    signed_in,
)

SEED = 7


@pytest.fixture(scope="module")
def studio_settings() -> dict[str, object]:
    return {"max_active_tasks_per_account": 10}


def create(page, prompt: str, *, seed: int = SEED) -> None:
    fill_draft(page, prompt, seed=seed)
    page.get_by_role("button", name="Create", exact=True).click()
    expect(queued_task(page, prompt)).to_be_visible()


def test_a_queued_task_is_still_listed_after_a_reload_and_can_be_cancelled(studio, page):
    signed_in(page, studio.key())
    with studio.worker.paused():
        create(page, "a yellow circle over the ocean")
        task = queued_task(page, "a yellow circle over the ocean")
        expect(task).to_contain_text("Queued")

        page.reload()
        task = queued_task(page, "a yellow circle over the ocean")
        expect(task).to_contain_text("Queued")
        task.get_by_role("button", name="Cancel “a yellow circle over the ocean”").click()
        expect(task.get_by_text("Cancelled", exact=True)).to_be_visible()
        expect(task.get_by_role("button", name="Cancel")).to_have_count(0)

    page.reload()
    expect(queued_task(page, "a yellow circle over the ocean")).to_contain_text("Cancelled")


@pytest.mark.slow
def test_a_video_made_through_the_api_is_listed_done_with_its_thumbnail(studio, page):
    key = studio.key()
    made = studio.video(key, seed=SEED)
    signed_in(page, key)
    task = queued_task(page, TOY_PROMPT)
    expect(task.get_by_text("Done", exact=True)).to_be_visible()
    assert_image_shows(task.get_by_role("img", name=f"Thumbnail of “{TOY_PROMPT}”"))
    expect(task.get_by_role("link", name="Open")).to_have_attribute(
        "href", f"/library/{made['generations'][0]['id']}"
    )


def test_another_accounts_tasks_never_show_in_the_queue(studio, page, new_page):
    signed_in(page, studio.key())
    with studio.worker.paused():
        create(page, "a purple circle over the ocean")
        other = signed_in(new_page(), studio.key())
        expect(other.get_by_text("Nothing yet: what you create appears here.")).to_be_visible()
        create(other, "an orange circle over the ocean")
        expect(other.get_by_text("a purple circle over the ocean")).to_have_count(0)
        page.reload()
        expect(queued_task(page, "a purple circle over the ocean")).to_be_visible()
        expect(page.get_by_text("an orange circle over the ocean")).to_have_count(0)
        # Leave nothing for the worker to render.
        for each, prompt in ((page, "a purple circle"), (other, "an orange circle")):
            task = queued_task(each, f"{prompt} over the ocean")
            task.get_by_role("button", name="Cancel").click()
            expect(task.get_by_text("Cancelled", exact=True)).to_be_visible()


def test_a_long_queue_leaves_the_page_free_to_create(studio, page):
    """Seven waiting tasks are listed with their places, and Create still answers: the page
    streams only what runs (a browser opens six connections to a server at most)."""
    key = studio.key()
    api = studio.api(key)
    with studio.worker.paused():
        for n in range(7):
            made = api.post("/backend/video_gen", json=draft_request(f"waiting {n}", seed=n))
            assert made.status_code == 200, made.text
        signed_in(page, key)
        for n in range(7):
            expect(queued_task(page, f"waiting {n}")).to_contain_text("in the queue")
        create(page, "a green star spinning over grass")
        expect(queued_task(page, "a green star spinning over grass")).to_contain_text("Queued")
        for task in api.get("/backend/video_gen", params={"limit": 20}).json()["task_responses"]:
            api.post(f"/backend/video_gen/{task['id']}/cancel")  # (nothing left to render)
