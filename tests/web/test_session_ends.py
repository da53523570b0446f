"""A session the operator ends mid-way (access suspended, the key revoked): the studio says
why at the artist's next step, instead of failing silently."""

from __future__ import annotations

import re

from playwright.sync_api import expect

from .harness import TOY_PROMPT, fill_draft, signed_in

REASON = "maintenance until noon"


def test_creating_while_access_is_suspended_shows_the_reason(studio, page, console):
    console.allow_failed_request(503)
    signed_in(page, studio.key())
    fill_draft(page, TOY_PROMPT, seed=7)
    with studio.suspended(REASON):
        page.get_by_role("button", name="Create", exact=True).click()
        paused = page.get_by_role("alert").filter(has_text="Access is suspended")
        expect(paused).to_contain_text("suspended by its operator")
        expect(paused).to_contain_text(REASON)
        expect(paused.get_by_role("link", name="Try again")).to_be_visible()
    assert page.request.get("/backend/video_gen").json()["task_responses"] == []


def test_reloading_while_access_is_suspended_shows_the_reason_then_goes_on_after_resume(
    studio, page, console
):
    console.allow_failed_request(503)
    signed_in(page, studio.key())
    with studio.suspended(REASON):
        page.reload()
        expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
        expect(page.get_by_role("alert")).to_contain_text(REASON)
    page.reload()  # the session was only paused: no key needed again
    expect(page.get_by_role("heading", name="Create")).to_be_visible()


def test_a_revoked_key_ends_the_session_with_a_message(studio, page, console):
    console.allow_failed_request(401)
    key = studio.key()
    signed_in(page, key)
    fill_draft(page, TOY_PROMPT, seed=7)
    studio.revoke(key)
    page.get_by_role("button", name="Create", exact=True).click()
    ended = page.get_by_role("alert").filter(has_text="Your session ended")
    expect(ended).to_contain_text(re.compile("revoked"))
    page.reload()
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
    expect(page.get_by_role("alert")).to_contain_text("revoked")
