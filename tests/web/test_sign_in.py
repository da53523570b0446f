"""Signing in and out of the studio with an API key, and what the session cookie allows."""

from __future__ import annotations

import httpx
from playwright.sync_api import expect

from cinegen.api.deps import SESSION_COOKIE

from .harness import TOY_PROMPT, draft_request, signed_in


def session_cookie(page):
    return next(c for c in page.context.cookies() if c["name"] == SESSION_COOKIE)


def test_signing_in_with_a_key_opens_the_create_page(studio, page):
    signed_in(page, studio.key())
    expect(page.get_by_role("heading", name="Create", level=1)).to_be_visible()
    expect(page.get_by_role("navigation").get_by_role("link", name="Library")).to_be_visible()


def test_a_wrong_key_is_named_at_the_api_key_field(studio, page, console):
    console.allow_failed_request(401)  # the sign-in form's answer is a 401 page
    page.goto("/")
    page.get_by_label("API key").fill("cg-not-a-key")
    page.get_by_role("button", name="Sign in").click()
    key_field = page.get_by_label("API key")
    expect(key_field).to_have_accessible_description("that API key is unknown or revoked")
    expect(key_field).to_have_attribute("aria-invalid", "true")
    expect(page.get_by_text("that API key is unknown or revoked")).to_be_visible()
    expect(page.get_by_role("heading", name="Create")).to_have_count(0)


def test_signing_out_ends_the_session_on_the_server(studio, page, new_page):
    signed_in(page, studio.key())
    cookie = session_cookie(page)
    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
    assert SESSION_COOKIE not in {c["name"] for c in page.context.cookies()}

    # The same cookie, kept by someone who copied it, opens nothing any more.
    later = new_page()
    later.context.add_cookies([cookie])
    later.goto("/")
    expect(later.get_by_role("heading", name="Sign in")).to_be_visible()
    expect(later.get_by_role("alert")).to_contain_text("Your session ended")
    answer = httpx.get(f"{studio.url}/backend/video_gen", cookies={SESSION_COOKIE: cookie["value"]})
    assert answer.status_code == 401 and answer.json()["error"]["code"] == "session_ended"


def test_the_session_cookie_is_out_of_reach_of_scripts_and_other_sites(studio, page):
    signed_in(page, studio.key())
    cookie = session_cookie(page)
    assert cookie["httpOnly"] is True
    assert cookie["sameSite"] == "Strict"
    assert SESSION_COOKIE not in page.evaluate("document.cookie")


def test_a_change_without_the_csrf_token_is_refused(studio, page):
    signed_in(page, studio.key())
    # page.request carries the context's cookies, as a forged form post would: no header.
    answer = page.request.post("/backend/video_gen", data=draft_request(TOY_PROMPT, seed=1))
    assert answer.status == 403
    assert answer.json()["error"]["code"] == "csrf_failed"
    listed = page.request.get("/backend/video_gen").json()
    assert listed["task_responses"] == []  # nothing was queued
