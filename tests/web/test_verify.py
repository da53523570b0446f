"""The Verify page: a person picks or drops a file and learns where it came from: its
Content Credentials, its invisible watermark, and the task behind it (its id only for the
task's own account)."""

from __future__ import annotations

import base64
import re
from typing import Any

import pytest
from playwright.sync_api import Locator, Page, expect

from .harness import StudioKey, screenshot, signed_in, video_file

DESKTOP = {"viewport": {"width": 1280, "height": 800}}


@pytest.fixture(scope="module")
def made(studio) -> tuple[StudioKey, dict[str, Any], bytes]:  # type: ignore[no-untyped-def]
    """One video of one account: its owner's key, its task, its MP4 as downloaded."""
    owner = studio.key()
    task = studio.video(owner, seed=51)
    return owner, task, video_file(studio, owner, task)


def fact(page: Page, term: str) -> Locator:
    """The value the result gives for ``term`` (a <dd> after its <dt>: a description list
    ties them by order only, which the accessibility tree does not expose)."""
    result = page.get_by_role("region", name="Result")
    return result.locator(f"xpath=.//dt[normalize-space()='{term}']/following-sibling::dd[1]")


def verify_page(page: Page, key: StudioKey) -> Page:
    signed_in(page, key)
    page.get_by_role("navigation").get_by_role("link", name="Verify").click()
    expect(page.get_by_role("heading", name="Verify", level=1)).to_be_visible()
    return page


def drop_file(page: Page, name: str, data: bytes, media_type: str) -> None:
    """Drag ``data`` from the desktop onto the page's drop zone and let go."""
    transfer = page.evaluate_handle(
        """([name, b64, type]) => {
            const bytes = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
            const transfer = new DataTransfer();
            transfer.items.add(new File([bytes], name, { type }));
            return transfer;
        }""",
        [name, base64.b64encode(data).decode(), media_type],
    )
    target = page.get_by_label("Video or picture")
    for event in ("dragenter", "dragover", "drop"):
        target.dispatch_event(event, {"dataTransfer": transfer})


@pytest.mark.slow  # it renders
def test_a_video_made_here_shows_its_credentials_watermark_and_task(
    studio, new_page, made, tmp_path
):
    owner, task, mp4 = made
    page = verify_page(new_page(**DESKTOP), owner)
    page.get_by_label("Video or picture").set_input_files(
        {"name": "clip.mp4", "mimeType": "video/mp4", "buffer": mp4}
    )
    page.get_by_role("button", name="Verify").click()

    result = page.get_by_role("region", name="Result")
    expect(result).to_contain_text("Made by this server: its Content Credentials are signed by it.")
    expect(page.get_by_role("heading", name="Result")).to_be_focused()
    expect(fact(page, "File")).to_have_text("clip.mp4")
    expect(fact(page, "State")).to_contain_text("Trusted — Signed by this server")
    expect(fact(page, "Made with")).to_contain_text("seed 51")
    expect(fact(page, "Found")).to_have_text("yes")
    expect(fact(page, "Server")).to_have_text("this server")
    expect(fact(page, "Task")).to_have_text(task["id"])
    expect(fact(page, "Yours")).to_have_text("yes")
    expect(fact(page, "Found by")).to_have_text("its signed Content Credentials")
    expect(page.get_by_role("status").filter(has_text="Verified")).to_have_text(
        "Verified “clip.mp4”."
    )
    screenshot(page, "verify", tmp_path)


@pytest.mark.slow  # it renders
def test_another_account_dropping_the_video_learns_it_was_made_here_but_not_its_task(
    studio, page, made
):
    _, task, mp4 = made
    verify_page(page, studio.key())
    drop_file(page, "forwarded.mp4", mp4, "video/mp4")  # a drop verifies at once

    result = page.get_by_role("region", name="Result")
    expect(result).to_contain_text("Made by this server")
    expect(fact(page, "File")).to_have_text("forwarded.mp4")
    expect(fact(page, "State")).to_contain_text("Trusted")
    expect(fact(page, "Found")).to_have_text("yes")
    expect(fact(page, "Made here")).to_have_text("yes")
    expect(fact(page, "Task")).to_have_text("withheld: not one of your account's tasks")
    expect(fact(page, "Yours")).to_have_text("no")
    page.get_by_text("The signed manifest").click()
    expect(result.locator("pre")).to_contain_text("withheld")
    expect(page.locator("body")).not_to_contain_text(task["id"])


def test_a_file_not_made_here_shows_no_credentials(studio, page):
    verify_page(page, studio.key())
    page.get_by_label("Video or picture").set_input_files(
        {"name": "junk.mp4", "mimeType": "video/mp4", "buffer": b"not a video at all " * 64}
    )
    page.get_by_role("button", name="Verify").click()

    result = page.get_by_role("region", name="Result")
    expect(result).to_contain_text("Not made by this server, as far as its credentials")
    expect(fact(page, "State")).to_contain_text("None — No Content Credentials")
    expect(fact(page, "Found")).to_have_text("no")
    expect(fact(page, "Task")).to_contain_text("none named")
    expect(page.get_by_text("The signed manifest")).to_be_hidden()


def test_verifying_without_a_file_asks_for_one(studio, page):
    verify_page(page, studio.key())
    page.get_by_role("button", name="Verify").click()
    picker = page.get_by_label("Video or picture")
    expect(picker).to_have_accessible_description(re.compile("pick or drop a file first"))
    expect(picker).to_have_attribute("aria-invalid", "true")
    expect(page.get_by_role("region", name="Result")).to_be_hidden()
