"""Sharing with review on: the owner asks, a reviewer (another account, another browser)
watches and decides, and only an approved video gets a public page anyone can open."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import pytest
from playwright.sync_api import Locator, Page, expect

from cinegen.store.models import Role

from .harness import Studio, StudioKey, assert_video_plays, signed_in

SEED = 31
APPROVED_PROMPT = "a red circle moves right over a starry night sky"
REJECTED_PROMPT = "a green circle bounces over the ocean"
# Every test here shares a video the module renders once.
pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def studio_settings() -> dict[str, object]:
    return {"review": True}


@dataclass(frozen=True)
class Owner:
    key: StudioKey
    videos: dict[str, dict[str, Any]]  # prompt -> its finished task

    def generation_id(self, prompt: str) -> str:
        return str(self.videos[prompt]["generations"][0]["id"])


@pytest.fixture(scope="module")
def owner(studio: Studio) -> Owner:
    key = studio.key()
    prompts = (APPROVED_PROMPT, REJECTED_PROMPT)
    videos = {p: studio.video(key, seed=SEED + i, prompt=p) for i, p in enumerate(prompts)}
    return Owner(key, videos)


def sharing_of(page: Page, generation_id: str, prompt: str) -> Locator:
    """Open the video's page; its Sharing form."""
    page.goto(f"/library/{generation_id}")
    expect(page.get_by_role("heading", level=1)).to_have_text(prompt)
    return page.get_by_role("form", name="Sharing")


def asked_to_share(page: Page, owner: Owner, prompt: str) -> Locator:
    """The owner signs in, opens the video and presses Share: it waits for review."""
    signed_in(page, owner.key)
    sharing = sharing_of(page, owner.generation_id(prompt), prompt)
    sharing.get_by_role("button", name="Share").click()
    expect(sharing.get_by_role("status")).to_have_text(
        "Pending review: a reviewer decides before it is public."
    )
    expect(sharing.get_by_role("button", name="Share")).to_be_hidden()
    return sharing


def under_review(page: Page, studio: Studio, prompt: str) -> Locator:
    """A reviewer signs in, opens Review and finds the item; its video plays there."""
    signed_in(page, studio.key(role=Role.reviewer))
    page.get_by_role("navigation", name="Studio").get_by_role("link", name="Review").click()
    waiting = page.get_by_role("list", name="Waiting for review")
    item = waiting.get_by_role("listitem", name=prompt)
    expect(item).to_be_visible()
    assert_video_plays(page, item.get_by_label(f"Video of “{prompt}”"), 2.0)
    return item


def test_an_approved_video_gets_a_public_page_anyone_can_watch(studio, owner, page, new_page):
    sharing = asked_to_share(page, owner, APPROVED_PROMPT)

    reviewer = new_page()
    item = under_review(reviewer, studio, APPROVED_PROMPT)
    item.get_by_role("button", name="Approve").click()
    expect(reviewer.get_by_text(f"Approved “{APPROVED_PROMPT}”: its public page")).to_be_visible()
    expect(item).to_have_count(0)

    page.reload()
    expect(sharing.get_by_role("status")).to_contain_text("Approved: public at")
    public = sharing.get_by_role("status").get_by_role("link")
    url = public.get_attribute("href")
    assert url is not None and re.search(r"/share/[\w-]+$", url), url
    expect(public).to_have_text(url)

    anyone = new_page()  # a fresh browser, never signed in
    anyone.goto(url)
    assert_video_plays(anyone, anyone.locator("video"), 2.0)
    expect(anyone.get_by_role("cell", name=APPROVED_PROMPT)).to_be_visible()
    expect(anyone.get_by_role("cell", name=re.compile("^approved "))).to_be_visible()


def test_a_rejected_video_tells_its_owner_why_and_has_no_public_page(
    studio, owner, page, new_page, console
):
    sharing = asked_to_share(page, owner, REJECTED_PROMPT)

    reviewer = new_page()
    item = under_review(reviewer, studio, REJECTED_PROMPT)
    reason = "the circle leaves the frame too soon"
    item.get_by_label("Reason for rejecting").fill(reason)
    item.get_by_role("button", name="Reject").click()
    expect(reviewer.get_by_text(f"Rejected “{REJECTED_PROMPT}”: {reason}")).to_be_visible()
    expect(item).to_have_count(0)

    page.reload()
    expect(sharing.get_by_role("status")).to_have_text(f"Rejected: {reason}.")
    expect(sharing.get_by_role("button", name="Share")).to_be_hidden()
    expect(sharing.get_by_role("link")).to_have_count(0)

    generation_id = owner.generation_id(REJECTED_PROMPT)
    share = page.request.get(f"/v1/generations/{generation_id}/share").json()
    assert (share["state"], share["url"]) == ("rejected", None)
    console.allow_failed_request(404)  # the public page that is not there
    anyone = new_page()
    for path in (f"/share/{generation_id}", f"/share/{generation_id}/media"):
        answer = anyone.goto(path)
        assert answer is not None and answer.status == 404, path
