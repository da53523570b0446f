"""The Library: the account's videos newest first, played on hover, scrubbed with the
pointer, found by words of their prompt, and nobody else's."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Any

import pytest
from playwright.sync_api import Locator, Page, expect

from .harness import (
    RENDER_TIMEOUT_MS,
    Studio,
    StudioKey,
    assert_accessible,
    assert_image_shows,
    assert_video_plays,
    fill_draft,
    queued_task,
    screenshot,
    signed_in,
)

# Oldest first, as they are made: the library shows them the other way round.
PROMPTS = (
    "a red circle moves right over a starry night sky",
    "a blue circle moves left over the ocean",
    "a green circle bounces over the ocean",
)
SEED = 7
DESKTOP = {"viewport": {"width": 1280, "height": 800}}
PHONE = {"viewport": {"width": 375, "height": 812}, "is_mobile": True, "has_touch": True}


@dataclass(frozen=True)
class Library:
    key: StudioKey
    tasks: list[dict[str, Any]]  # as made, oldest first


@pytest.fixture(scope="module")
def library(studio: Studio) -> Library:
    """One account with three quick drafts, shared by the module's tests."""
    key = studio.key()
    tasks = [studio.video(key, seed=SEED + i, prompt=p) for i, p in enumerate(PROMPTS)]
    return Library(key, tasks)


def opened(page: Page, key: StudioKey) -> Locator:
    """Sign in, open the Library from the studio's menu; its grid of videos."""
    signed_in(page, key)
    page.get_by_role("navigation", name="Studio").get_by_role("link", name="Library").click()
    expect(page.get_by_role("heading", name="Library", level=1)).to_be_visible()
    return page.get_by_role("list", name="Your videos")


def tile_of(grid: Locator, prompt: str) -> Locator:
    return grid.get_by_role("listitem").filter(has=grid.page.get_by_text(prompt, exact=True))


def thumbnails_shown(grid: Locator, count: int) -> None:
    tiles = grid.get_by_role("listitem")
    expect(tiles).to_have_count(count)
    for tile in tiles.all():
        tile.scroll_into_view_if_needed()  # a thumbnail loads once it is in view
        assert_image_shows(tile.locator("img"))


def wait_until_playing(video: Locator) -> None:
    """Not paused, and its time moves on between two looks."""
    expect(video).to_have_count(1)
    video.page.wait_for_function(
        """(v) => {
            const was = v.__seen;
            v.__seen = v.currentTime;
            return !v.paused && v.readyState >= 2 && was !== undefined && v.currentTime > was;
        }""",
        arg=video.element_handle(),
        polling=100,
    )


@pytest.mark.slow
def test_the_library_shows_the_accounts_videos_newest_first_with_thumbnails(
    studio, library, new_page, tmp_path
):
    page = new_page(**DESKTOP)
    grid = opened(page, library.key)
    expect(grid.get_by_role("link")).to_have_text(
        [re.compile(re.escape(prompt)) for prompt in reversed(PROMPTS)]
    )
    expect(page.get_by_role("status")).to_have_text("3 videos")
    thumbnails_shown(grid, 3)
    for task in library.tasks:
        generation = task["generations"][0]
        expect(tile_of(grid, task["prompt"]).get_by_role("link")).to_have_attribute(
            "href", f"/library/{generation['id']}"
        )
        expect(tile_of(grid, task["prompt"]).locator("img")).to_have_attribute(
            "src", generation["encodings"]["thumbnail"]["path"]
        )
    screenshot(page, "library", tmp_path)


@pytest.mark.slow
def test_hovering_a_tile_plays_its_video_and_leaving_it_stops(studio, library, page):
    grid = opened(page, library.key)
    tile = tile_of(grid, PROMPTS[1])
    video = tile.locator("video")
    expect(video).to_have_count(0)  # nothing loads until a person looks
    tile.get_by_text(PROMPTS[1], exact=True).hover()
    wait_until_playing(video)
    expect(video).to_be_visible()
    # The other tiles stay still.
    expect(tile_of(grid, PROMPTS[0]).locator("video")).to_have_count(0)

    page.mouse.move(0, 0)
    expect(video).to_be_hidden()
    assert video.evaluate("(v) => v.paused")


@pytest.mark.slow
def test_moving_the_pointer_across_a_tile_scrubs_through_its_frames(studio, library, page):
    task = library.tasks[0]
    grid = opened(page, library.key)
    tile = tile_of(grid, task["prompt"])
    assert_image_shows(tile.locator("img"))
    layout = page.request.get(f"/v1/generations/{task['generations'][0]['id']}").json()
    frames = layout["spritesheet"]["frames"]

    box = tile.locator(".media").bounding_box()
    assert box is not None
    canvas = tile.locator("canvas")
    shown = []
    for fraction in (0.05, 0.5, 0.95):
        page.mouse.move(box["x"] + fraction * box["width"], box["y"] + box["height"] / 2)
        expected = frames[math.floor(fraction * len(frames))]
        expect(canvas).to_have_attribute("data-frame", str(expected))
        shown.append((expected, canvas.evaluate("(c) => c.toDataURL()")))
    assert [frame for frame, _ in shown] == sorted({frame for frame, _ in shown})
    assert len({picture for _, picture in shown}) == 3, "the picture did not change"

    # At rest, the video plays on from the frame shown.
    wait_until_playing(tile.locator("video"))
    expect(canvas).to_be_hidden()


@pytest.mark.slow
def test_searching_by_prompt_narrows_the_grid_to_the_matching_videos(studio, library, page):
    grid = opened(page, library.key)
    thumbnails_shown(grid, 3)
    page.get_by_label("Search by prompt").fill("ocean")
    page.get_by_role("button", name="Search").click()
    expect(grid.get_by_role("link")).to_have_text(
        [re.compile(re.escape(PROMPTS[2])), re.compile(re.escape(PROMPTS[1]))]
    )
    expect(page.get_by_role("status")).to_have_text("2 videos matching “ocean”")

    page.get_by_label("Search by prompt").fill("a purple square")
    page.get_by_role("button", name="Search").click()
    expect(page.get_by_role("status")).to_have_text("No videos match “a purple square”.")
    expect(grid.get_by_role("listitem")).to_have_count(0)


@pytest.mark.slow
def test_another_accounts_videos_never_appear(studio, library, page, new_page):
    other_key = studio.key()
    theirs = studio.video(other_key, seed=SEED, prompt="a yellow circle moves up over the ocean")
    other = opened(new_page(), other_key)
    expect(other.get_by_role("link")).to_have_text([re.compile("a yellow circle moves up")])
    for prompt in PROMPTS:
        expect(other.get_by_text(prompt)).to_have_count(0)

    mine = opened(page, library.key)
    thumbnails_shown(mine, 3)
    expect(mine.get_by_text(theirs["prompt"])).to_have_count(0)
    page.get_by_label("Search by prompt").fill("yellow")
    page.get_by_role("button", name="Search").click()
    expect(page.get_by_role("status")).to_have_text("No videos match “yellow”.")


@pytest.mark.slow
def test_a_video_made_on_the_create_page_plays_at_once_and_heads_the_library(
    studio, new_page, tmp_path
):
    page = signed_in(new_page(**DESKTOP), studio.key())
    prompt = "a white circle moves right over a starry night sky"
    fill_draft(page, prompt, seed=SEED)
    page.get_by_role("button", name="Create", exact=True).click()
    task = queued_task(page, prompt)
    expect(task.get_by_text("Done", exact=True)).to_be_visible(timeout=RENDER_TIMEOUT_MS)
    video = task.get_by_label(f"Video of “{prompt}”")
    assert_video_plays(page, video, 2.0)
    wait_until_playing(video)  # muted, it plays by itself
    # Its words read across the video's width, not a word a line beside it.
    words = task.get_by_text(prompt, exact=True).bounding_box()
    picture = video.bounding_box()
    assert words is not None and picture is not None
    assert words["width"] > picture["width"] / 2, (words, picture)
    page.evaluate("window.scrollTo(0, 0)")
    screenshot(page, "create", tmp_path)

    page.get_by_role("navigation", name="Studio").get_by_role("link", name="Library").click()
    grid = page.get_by_role("list", name="Your videos")
    expect(grid.get_by_role("link")).to_have_text([re.compile(re.escape(prompt))])


@pytest.mark.slow
def test_the_library_passes_axe_with_a_tile_playing(studio, library, page):
    grid = opened(page, library.key)
    thumbnails_shown(grid, 3)
    tile = tile_of(grid, PROMPTS[2])
    tile.get_by_text(PROMPTS[2], exact=True).hover()
    wait_until_playing(tile.locator("video"))
    assert_accessible(page)


@pytest.mark.slow
def test_on_a_phone_the_library_fits_the_screen(studio, library, new_page):
    phone = new_page(**PHONE)
    grid = opened(phone, library.key)
    thumbnails_shown(grid, 3)
    assert phone.evaluate("document.documentElement.scrollWidth") <= 375
    for tile in grid.get_by_role("listitem").all():
        box = tile.bounding_box()
        assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= 375, box
