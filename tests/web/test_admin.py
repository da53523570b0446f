"""The Admin page: an admin makes and revokes keys, sets a key's quota, suspends and
resumes all access, and reads the audit log; every change reaches whoever the key is for."""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator

import pytest
from playwright.sync_api import Locator, Page, expect

from cinegen.store import access
from cinegen.store.models import Role

from .harness import TOY_PROMPT, Studio, draft_request, fill_draft, screenshot, signed_in

DESKTOP = {"viewport": {"width": 1280, "height": 800}}
# The audit log's first page; "Load more" reads the next (admin.js).
AUDIT_PAGE = 50


def admin_page(page: Page, studio: Studio) -> Page:
    """An admin signed in, on the Admin page (by its link), its keys and log read."""
    signed_in(page, studio.key(role=Role.admin))
    page.get_by_role("navigation").get_by_role("link", name="Admin").click()
    expect(page.get_by_role("heading", name="Admin", level=1)).to_be_visible()
    expect(audit_rows(page).first).to_be_visible()
    return page


def key_row(page: Page, name: str) -> Locator:
    keys = page.get_by_role("region", name="Table of keys")
    return keys.get_by_role("row").filter(has=page.get_by_role("cell", name=name, exact=True))


def audit_rows(page: Page) -> Locator:
    """The log's lines (the rows with cells, not the header)."""
    log = page.get_by_role("region", name="Table of the audit log")
    return log.get_by_role("row").filter(has=page.get_by_role("cell"))


def line_numbers(page: Page) -> list[int]:
    return [int(text.split()[0]) for text in audit_rows(page).all_inner_texts()]


def unique(name: str) -> str:
    return f"{name}-{uuid.uuid4().hex[:6]}"


@pytest.fixture
def resumed_after(studio: Studio) -> Iterator[None]:
    """Access open again after the test, whatever it left: the module shares the server."""
    yield
    with studio.sessions() as session:
        access.resume(session, "test-teardown")


def test_an_admin_creates_a_key_that_is_shown_once_and_signs_in(studio, new_page, tmp_path):
    page = admin_page(
        new_page(permissions=["clipboard-read", "clipboard-write"], **DESKTOP), studio
    )
    name, account = unique("laptop"), unique("maria")
    page.get_by_label("Name", exact=True).fill(name)
    page.get_by_label("Account", exact=True).fill(account)
    page.get_by_label("Role", exact=True).select_option("artist")
    page.get_by_role("button", name="Create key").click()

    new_key = page.get_by_role("region", name=f"New key “{name}” for {account} (artist)")
    secret_field = new_key.get_by_label("New API key")
    expect(secret_field).to_have_value(re.compile(r"^cg-\S{20,}$"))
    expect(secret_field).not_to_be_editable()
    secret = secret_field.input_value()
    expect(new_key).to_contain_text("it will not be shown again")
    screenshot(page, "admin", tmp_path)
    new_key.get_by_role("button", name="Copy").click()
    expect(new_key.get_by_role("status")).to_have_text("Copied.")
    assert page.evaluate("navigator.clipboard.readText()") == secret

    row = key_row(page, name)
    expect(row).to_contain_text(account)
    expect(row).to_contain_text(secret[:10])  # the prefix it "starts with", never more
    expect(row).not_to_contain_text(secret)
    new_key.get_by_role("button", name="Done").click()
    expect(new_key).to_be_hidden()
    expect(page.get_by_label("New API key")).to_have_value("")

    fresh = signed_in(new_page(), secret)  # someone else's browser, with the copied key
    expect(fresh.get_by_text(f"{account} (artist)")).to_be_visible()


def test_a_key_for_an_existing_account_of_another_role_is_refused_at_role(studio, page, console):
    console.allow_failed_request(400)
    artist = studio.key()
    admin_page(page, studio)
    name = unique("second")
    page.get_by_label("Name", exact=True).fill(name)
    page.get_by_label("Account", exact=True).fill(artist.account)
    page.get_by_label("Role", exact=True).select_option("reviewer")
    page.get_by_role("button", name="Create key").click()

    role = page.get_by_label("Role", exact=True)
    expect(role).to_have_accessible_description(re.compile("exists with role artist"))
    expect(role).to_have_attribute("aria-invalid", "true")
    expect(role).to_be_focused()
    expect(page.get_by_text(f"account '{artist.account}' exists with role artist")).to_be_visible()
    expect(key_row(page, name)).to_have_count(0)
    expect(page.get_by_role("region", name=re.compile("New key"))).to_have_count(0)


def test_revoking_a_key_after_confirming_ends_its_session(studio, page, new_page, console):
    console.allow_failed_request(401)  # the revoked key's next page load
    artist = studio.key()
    artist_page = signed_in(new_page(), artist)
    admin_page(page, studio)
    row = key_row(page, artist.account)

    row.get_by_role("button", name="Revoke").click()
    dialog = page.get_by_role("dialog", name="Revoke this key?")
    expect(dialog).to_contain_text(f"of {artist.account} (artist)")
    expect(dialog.get_by_role("button", name="Cancel")).to_be_focused()
    dialog.get_by_role("button", name="Cancel").click()  # second thoughts: nothing changes
    expect(dialog).to_be_hidden()
    expect(row.get_by_role("button", name="Revoke")).to_be_focused()
    artist_page.reload()
    expect(artist_page.get_by_role("heading", name="Create", level=1)).to_be_visible()

    row.get_by_role("button", name="Revoke").click()
    dialog.get_by_role("button", name="Confirm").click()
    expect(dialog).to_be_hidden()
    expect(page.get_by_role("status").filter(has_text="Revoked the key")).to_contain_text(
        artist.account
    )
    revoked = row.get_by_role("cell").nth(5)  # the "Revoked" column: when
    expect(revoked.locator("time")).to_be_visible()
    expect(row.get_by_role("button")).to_have_count(0)  # no Revoke, no Set quota
    expect(page.get_by_label("For key").get_by_role("option", name=artist.account)).to_have_count(0)

    artist_page.get_by_role("navigation").get_by_role("link", name="Library").click()
    expect(artist_page.get_by_role("heading", name="Sign in")).to_be_visible()
    expect(artist_page.get_by_role("alert")).to_contain_text("Your session ended")
    expect(artist_page.get_by_role("alert")).to_contain_text("revoked")


def test_a_quota_set_for_a_key_shows_in_the_table_and_the_api_enforces_it(studio, page):
    artist = studio.key()
    admin_page(page, studio)
    row = key_row(page, artist.account)
    expect(row).to_contain_text("the role's")

    row.get_by_role("button", name="Set quota").click()
    expect(page.get_by_label("For key")).to_be_focused()
    expect(page.get_by_label("For key")).to_have_value(artist.id)
    page.get_by_label("Videos per day").fill("1")
    page.get_by_role("button", name="Save quota").click()
    expect(page.get_by_role("status").filter(has_text="Saved the quota")).to_contain_text(
        f"“{artist.account}”: videos per day: 1"
    )
    expect(row).to_contain_text("videos per day: 1")

    with studio.worker.paused(), studio.api(artist) as http:  # nothing renders
        first = http.post("/backend/video_gen", json=draft_request(TOY_PROMPT, seed=31))
        assert first.status_code == 200, first.text
        second = http.post("/backend/video_gen", json=draft_request(TOY_PROMPT, seed=32))
        http.post(f"/backend/video_gen/{first.json()['id']}/cancel")
    assert second.status_code == 429, second.text
    assert second.json()["error"]["code"] == "quota_exceeded"
    assert "may make 1 a day" in second.json()["error"]["message"]


def test_suspending_all_access_stops_an_artist_with_the_reason_until_resumed(
    studio, page, new_page, console, resumed_after
):
    console.allow_failed_request(503)  # the artist's requests while suspended
    reason = "moving the studio to a new disk"
    artist_page = signed_in(new_page(), studio.key())
    fill_draft(artist_page, TOY_PROMPT, seed=41)
    admin_page(page, studio)
    state = page.get_by_role("status").filter(has_text=re.compile("^(Open|Suspended)"))
    expect(state).to_contain_text("Open")

    page.get_by_label("Reason").fill(reason)
    page.get_by_role("button", name="Suspend all access").click()
    expect(state).to_contain_text("Suspended")
    expect(state).to_contain_text(reason)
    expect(page.get_by_role("button", name="Resume access")).to_be_focused()

    artist_page.get_by_role("button", name="Create", exact=True).click()
    paused = artist_page.get_by_role("alert").filter(has_text="Access is suspended")
    expect(paused).to_contain_text(reason)

    page.reload()  # the admin's own page goes on working, and says so
    expect(state).to_contain_text("Suspended")
    expect(state).to_contain_text(reason)
    keys = page.get_by_role("region", name="Table of keys")
    expect(keys.get_by_text("(this session)")).to_be_visible()
    page.get_by_role("button", name="Resume access").click()
    expect(state).to_contain_text("Open")
    expect(page.get_by_role("button", name="Suspend all access")).to_be_visible()

    paused.get_by_role("link", name="Try again").click()  # a reload of the artist's page
    expect(artist_page.get_by_role("heading", name="Create", level=1)).to_be_visible()
    expect(artist_page.get_by_role("alert").filter(has_text="Access is suspended")).to_be_hidden()
    expect(artist_page.get_by_label("Prompt", exact=True)).to_be_editable()
    with studio.api(studio.key()) as http:
        assert http.get("/backend/video_gen").status_code == 200


def test_the_audit_log_shows_newest_first_and_loads_older_lines(studio, page):
    admin = studio.key(role=Role.admin)
    tag = uuid.uuid4().hex[:6]
    with studio.api(admin) as http:  # more lines than one page of the log holds
        for n in range(AUDIT_PAGE + 5):
            made = http.post("/v1/admin/keys", json={"name": f"bulk-{n:02d}-{tag}"})
            assert made.status_code == 201, made.text
    signed_in(page, admin)
    page.goto("/admin")
    expect(audit_rows(page)).to_have_count(AUDIT_PAGE)

    page.get_by_label("Name", exact=True).fill(f"last-{tag}")
    page.get_by_role("button", name="Create key").click()
    newest = audit_rows(page).first
    expect(newest).to_contain_text(f"last-{tag}")
    expect(newest).to_contain_text("key.create")
    expect(newest).to_contain_text(admin.account)
    expect(audit_rows(page)).to_have_count(AUDIT_PAGE + 1)
    numbers = line_numbers(page)
    assert numbers == sorted(numbers, reverse=True), numbers

    oldest = audit_rows(page).filter(has_text=f"bulk-00-{tag}")
    expect(oldest).to_have_count(0)
    page.get_by_role("button", name="Load more").click()
    expect(oldest).to_have_count(1)
    expect(audit_rows(page).filter(has_text=f"bulk-01-{tag}")).to_have_count(1)
    numbers = line_numbers(page)
    assert len(numbers) > AUDIT_PAGE + 1 and numbers == sorted(numbers, reverse=True), numbers
    assert len(set(numbers)) == len(numbers), "a line shown twice"


def test_the_keyboard_reaches_create_key_with_a_visible_focus(studio, page):
    admin_page(page, studio)
    create_key = page.get_by_role("button", name="Create key")
    for _ in range(30):
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.textContent") == "Create key":
            break
    expect(create_key).to_be_focused()
    expect(create_key).to_have_css("outline-style", "solid")
    expect(create_key).to_have_css("outline-width", re.compile(r"[1-9]"))
