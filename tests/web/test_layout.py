"""The studio for everyone: a phone's width, a keyboard alone, a screen reader (axe-core)."""

from __future__ import annotations

import re

from playwright.sync_api import expect

from .harness import assert_accessible, fill_draft, queued_task, signed_in

PHONE = {"viewport": {"width": 375, "height": 812}, "is_mobile": True, "has_touch": True}


def test_on_a_phone_the_create_page_fits_the_screen(studio, new_page):
    phone = signed_in(new_page(**PHONE), studio.key())
    assert phone.evaluate("document.documentElement.scrollWidth") <= 375
    create = phone.get_by_role("button", name="Create", exact=True)
    create.scroll_into_view_if_needed()
    expect(create).to_be_in_viewport()
    expect(phone.get_by_label("Prompt", exact=True)).to_be_visible()


def test_the_sign_in_page_passes_axe(studio, page):
    page.goto("/")
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
    assert_accessible(page)


def test_the_create_page_passes_axe_with_everything_open(studio, page):
    signed_in(page, studio.key())
    page.get_by_text("More", exact=True).click()
    page.get_by_label("Tell it in shots").check()
    expect(page.get_by_label("Shot 2 prompt")).to_be_visible()
    with studio.worker.paused():  # a task in the queue, with its progress bar and Cancel
        fill_draft(page, "a white circle over the ocean", seed=7)
        page.get_by_label("Tell it in shots").uncheck()
        page.get_by_role("button", name="Create", exact=True).click()
        task = queued_task(page, "a white circle over the ocean")
        expect(task).to_contain_text("Queued")
        page.get_by_label("Tell it in shots").check()
        assert_accessible(page)
        task.get_by_role("button", name="Cancel").click()
        expect(task.get_by_text("Cancelled", exact=True)).to_be_visible()


def focused_name(page) -> str:
    return page.evaluate(
        "document.activeElement.labels?.[0]?.textContent ?? document.activeElement.textContent"
    ).strip()


def test_the_keyboard_reaches_prompt_and_create_with_a_visible_focus(studio, page):
    signed_in(page, studio.key())
    reached = []
    for _ in range(40):
        page.keyboard.press("Tab")
        reached.append(focused_name(page))
        if reached[-1] == "Create" and page.evaluate("document.activeElement.type") == "submit":
            break
    assert "Prompt" in reached, reached
    assert reached[-1] == "Create", reached
    create = page.get_by_role("button", name="Create", exact=True)
    expect(create).to_be_focused()
    expect(create).to_have_css("outline-style", "solid")
    expect(create).to_have_css("outline-width", re.compile(r"[1-9]"))


def test_the_first_paint_is_styled(studio, page):
    """No flash of unstyled content: the stylesheet applies before the page first shows
    (it is linked in the head, which holds the first paint, and module scripts wait)."""
    signed_in(page, studio.key())
    for path in ("/", "/library", "/verify"):
        page.goto(path, wait_until="domcontentloaded")
        styled = page.evaluate(
            """() => ({
                background: getComputedStyle(document.body).backgroundColor,
                bar: getComputedStyle(document.querySelector("header.bar")).display,
                sheets: [...document.styleSheets].map((s) => s.href),
            })"""
        )
        assert styled["background"] == "rgb(246, 246, 248)", (path, styled)
        assert styled["bar"] == "flex", (path, styled)
        assert any(href.endswith("/static/studio.css") for href in styled["sheets"])
