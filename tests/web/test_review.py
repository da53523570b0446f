"""The Review page: a reviewer watches what owners asked to share, approves or rejects it
with a reason the owner reads; other roles are told which key the page needs."""

from __future__ import annotations

import pytest
from playwright.sync_api import Locator, Page, expect

from cinegen.store.models import Role

from .harness import asked_to_share, screenshot, signed_in

DESKTOP = {"viewport": {"width": 1280, "height": 800}}


@pytest.fixture(scope="module")
def studio_settings() -> dict[str, object]:
    return {"review": True}  # a share waits for a reviewer


def review_item(page, prompt: str):
    """The queue's entry for the generation with ``prompt`` (its heading)."""
    return page.get_by_role("list", name="Waiting for review").get_by_role("listitem", name=prompt)


def still(video: Locator) -> Page:
    """The page once ``video``'s player stops changing (for a picture of it): chromium's
    loading spinner fades out some 700 ms after the video has loaded."""
    previous = None
    for _ in range(50):
        shot = video.screenshot(animations="disabled")
        if shot == previous:
            return video.page
        previous = shot
        video.page.wait_for_timeout(100)
    raise AssertionError("the player kept changing for 5 s")


@pytest.mark.slow  # it renders
def test_a_reviewer_watches_a_video_and_approves_it(studio, new_page, tmp_path):
    owner = studio.key()
    prompt = "a red circle moves right over a starry night sky"
    generation = asked_to_share(studio, owner, seed=11, prompt=prompt)
    page = signed_in(new_page(**DESKTOP), studio.key(role=Role.reviewer))

    page.get_by_role("navigation").get_by_role("link", name="Review").click()
    expect(page.get_by_role("heading", name="Review", level=1)).to_be_visible()
    item = review_item(page, prompt)
    video = item.get_by_label(f"Video of “{prompt}”")
    # readyState 2 (HAVE_CURRENT_DATA): the first frame is decoded, the reviewer sees it.
    page.wait_for_function("(v) => v.readyState >= 2", arg=video.element_handle())
    expect(item).to_contain_text(owner.account)  # whose it is, by name
    screenshot(still(video), "review", tmp_path)

    item.get_by_role("button", name="Approve").click()
    expect(item).to_have_count(0)
    status = page.get_by_role("status").filter(has_text="Approved")
    expect(status).to_contain_text(prompt)
    with studio.api(owner) as http:
        share = http.get(f"/v1/generations/{generation}/share").json()
    assert share["state"] == "approved" and share["url"], share
    expect(status.get_by_role("link", name="its public page")).to_have_attribute(
        "href", share["url"]
    )


@pytest.mark.slow  # it renders
def test_a_reviewer_rejects_a_video_and_its_owner_reads_the_reason(studio, page):
    owner = studio.key()
    prompt = "a white circle moves left over the ocean"
    generation = asked_to_share(studio, owner, seed=12, prompt=prompt)
    signed_in(page, studio.key(role=Role.reviewer))

    page.goto("/review")
    item = review_item(page, prompt)
    item.get_by_label("Reason for rejecting").fill("the circle leaves the frame too early")
    item.get_by_role("button", name="Reject").click()
    expect(item).to_have_count(0)
    expect(page.get_by_role("status").filter(has_text="Rejected")).to_contain_text(
        "the circle leaves the frame too early"
    )
    with studio.api(owner) as http:
        share = http.get(f"/v1/generations/{generation}/share").json()
    assert share["state"] == "rejected", share
    assert share["reason"] == "the circle leaves the frame too early"
    assert share["url"] is None


def test_an_artist_is_told_the_review_page_needs_a_reviewer_key(studio, page, console):
    console.allow_failed_request(403)  # the page itself is answered 403
    signed_in(page, studio.key())
    expect(page.get_by_role("navigation").get_by_role("link", name="Review")).to_have_count(0)

    answer = page.goto("/review")
    assert answer is not None and answer.status == 403
    refusal = page.get_by_role("alert").filter(has_text="This page is not for this key")
    expect(refusal).to_contain_text("reviewing needs a reviewer or admin key")
    expect(refusal).to_contain_text("cinegen keys create --role reviewer")
    expect(page.get_by_role("list", name="Waiting for review")).to_have_count(0)
