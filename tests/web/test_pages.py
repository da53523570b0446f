"""Every page of the studio, with something real on it (one video in the library, one
waiting for review, one shared): no serious or critical axe-core violation, and on a
phone's width no page scrolls sideways."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import pytest
from playwright.sync_api import Page, expect

from cinegen.store.models import Role

from .harness import (
    TOY_PROMPT,
    Studio,
    StudioKey,
    asked_to_share,
    assert_accessible,
    signed_in,
    video_file,
)

pytestmark = pytest.mark.slow  # the pages show videos rendered for the module

PHONE = {"viewport": {"width": 375, "height": 812}, "is_mobile": True, "has_touch": True}
WAITING_PROMPT = "a white circle moves left over the ocean"


@pytest.fixture(scope="module")
def studio_settings() -> dict[str, object]:
    return {"review": True}  # so that the Review page has an item


@dataclass(frozen=True)
class Shown:
    """What the pages show: an artist's video (in the library, shared and approved), the
    artist's second video waiting for review, and an admin to review and administer."""

    artist: StudioKey
    admin: StudioKey
    generation: str
    mp4: bytes
    share_url: str


@pytest.fixture(scope="module")
def shown(studio: Studio) -> Shown:
    artist, admin = studio.key(), studio.key(role=Role.admin)
    task = studio.video(artist, seed=61)
    generation = task["generations"][0]["id"]
    with studio.api(artist) as http:
        assert http.post(f"/v1/generations/{generation}/share").status_code == 200
    with studio.api(admin) as http:
        approved = http.post(f"/v1/review/{generation}/approve").json()
    asked_to_share(studio, artist, seed=62, prompt=WAITING_PROMPT)
    return Shown(artist, admin, generation, video_file(studio, artist, task), approved["url"])


def sign_in_page(page: Page, shown: Shown) -> None:
    page.goto("/")
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()


def create_page(page: Page, shown: Shown) -> None:
    signed_in(page, shown.artist)
    expect(page.get_by_role("region", name="Queue")).to_be_visible()


def library_page(page: Page, shown: Shown) -> None:
    signed_in(page, shown.artist)
    page.goto("/library")
    videos = page.get_by_role("list", name="Your videos")
    expect(videos.get_by_role("listitem").filter(has_text=TOY_PROMPT)).to_be_visible()


def detail_page(page: Page, shown: Shown) -> None:
    signed_in(page, shown.artist)
    page.goto(f"/library/{shown.generation}")
    expect(page.get_by_role("heading", name=TOY_PROMPT, level=1)).to_be_visible()
    expect(page.get_by_role("heading", name="Record")).to_be_visible()


def review_page(page: Page, shown: Shown) -> None:
    signed_in(page, shown.admin)
    page.goto("/review")
    waiting = page.get_by_role("list", name="Waiting for review")
    expect(waiting.get_by_role("listitem", name=WAITING_PROMPT)).to_be_visible()


def admin_page(page: Page, shown: Shown) -> None:
    signed_in(page, shown.admin)
    page.goto("/admin")
    log = page.get_by_role("region", name="Table of the audit log")
    expect(log.get_by_role("row").filter(has_text="review.approve")).to_be_visible()
    expect(page.get_by_role("status").filter(has_text="Open")).to_be_visible()


def verify_page(page: Page, shown: Shown) -> None:
    """With a result shown: the video verified."""
    signed_in(page, shown.artist)
    page.goto("/verify")
    page.get_by_label("Video or picture").set_input_files(
        {"name": "clip.mp4", "mimeType": "video/mp4", "buffer": shown.mp4}
    )
    page.get_by_role("button", name="Verify").click()
    expect(page.get_by_role("region", name="Result")).to_contain_text("Made by this server")


def share_page(page: Page, shown: Shown) -> None:
    """The public page of an approved share, opened by anyone (no sign-in)."""
    page.goto(shown.share_url)
    expect(page.get_by_role("heading", name="Provenance")).to_be_visible()
    expect(page.get_by_role("cell", name=TOY_PROMPT)).to_be_visible()


PAGES: dict[str, Callable[[Page, Shown], None]] = {
    "sign-in": sign_in_page,
    "create": create_page,
    "library": library_page,
    "detail": detail_page,
    "review": review_page,
    "admin": admin_page,
    "verify": verify_page,
    "share": share_page,
}


@pytest.mark.parametrize("name", PAGES)
def test_the_page_passes_axe(name, page, shown):
    PAGES[name](page, shown)
    assert_accessible(page)


@pytest.mark.parametrize("name", PAGES)
def test_on_a_phone_the_page_does_not_scroll_sideways(name, new_page, shown):
    phone = new_page(**PHONE)
    PAGES[name](phone, shown)
    width = phone.evaluate("document.documentElement.scrollWidth")
    assert width <= 375, f"the {name} page is {width} px wide on a 375 px screen"
