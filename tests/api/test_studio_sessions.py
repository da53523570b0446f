"""Studio sessions over HTTP: a browser signed in with a key reaches the API by its cookie,
every change repeats the session's CSRF token, and the session ends at once when its key is
revoked, access is suspended or it signs out. No worker runs here: tasks stay queued."""

from __future__ import annotations

import io
import re
from collections.abc import Iterator
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from PIL import Image

from cinegen.api.app import create_app
from cinegen.config import Settings
from cinegen.store import access, studio_sessions
from cinegen.store.db import open_database
from cinegen.store.keys import create_key, revoke_key
from cinegen.store.models import ApiKey, Role, StudioSession

from ..conftest import first_frame_image

TASK = {"prompt": "a red circle moving right", "seed": 7, "n_frames": 30, "width": 160,
        "height": 96}  # fmt: skip


@pytest.fixture
def app(tmp_path):
    sessions = open_database(tmp_path)
    return create_app(Settings(data_dir=tmp_path), sessions)


def _key(app, name: str, role: Role = Role.artist) -> str:
    with app.state.sessions() as session:
        return create_key(session, name, role=role).secret


@pytest.fixture
def browser(app) -> Iterator[TestClient]:
    with TestClient(app, base_url="http://127.0.0.1") as client:
        yield client


def _sign_in(browser: TestClient, secret: str) -> str:
    """Sign in through the form; the page's CSRF token."""
    answer = browser.post("/sign-in", data={"api_key": secret}, follow_redirects=False)
    assert answer.status_code == 303, answer.text
    page = browser.get("/")
    return re.search(r'name="csrf-token" content="([^"]+)"', page.text).group(1)


def test_the_cookie_opens_the_api_and_every_change_needs_the_csrf_token(app, browser):
    csrf = _sign_in(browser, _key(app, "ann"))
    cookie = browser.cookies.get("cinegen_session")
    assert cookie and browser.get("/backend/video_gen").status_code == 200

    refused = browser.post("/backend/video_gen", json=TASK)
    assert refused.status_code == 403 and refused.json()["error"]["code"] == "csrf_failed"
    forged = browser.post("/backend/video_gen", json=TASK, headers={"X-CSRF-Token": "guess"})
    assert forged.status_code == 403
    made = browser.post("/backend/video_gen", json=TASK, headers={"X-CSRF-Token": csrf})
    assert made.status_code == 200
    assert browser.get(f"/backend/video_gen/{made.json()['id']}").json()["status"] == "queued"
    with app.state.sessions() as session:  # only the token's hash is kept
        assert session.query(StudioSession).one().token_hash != cookie


def test_revoking_the_key_ends_the_session_on_its_next_request(app, browser):
    secret = _key(app, "bob")
    _sign_in(browser, secret)
    with app.state.sessions() as session:
        key_id = session.query(ApiKey).one().id
        revoke_key(session, key_id)
    answer = browser.get("/backend/video_gen")
    assert answer.status_code == 401 and answer.json()["error"]["code"] == "invalid_api_key"
    page = browser.get("/")  # the page says why, and asks for a key again
    assert "Your session ended" in page.text and "revoked" in page.text
    assert 'id="api_key"' in page.text


def test_suspension_ends_a_non_admin_session_and_the_page_says_why(app, browser):
    _sign_in(browser, _key(app, "cat"))
    with app.state.sessions() as session:
        access.suspend(session, "root", "maintenance until noon")
    answer = browser.get("/backend/video_gen")
    assert answer.status_code == 503 and "maintenance until noon" in answer.text
    assert "maintenance until noon" in browser.get("/library").text


def test_signing_in_while_suspended_says_why_admins_still_get_in(app, browser):
    artist, admin = _key(app, "dan"), _key(app, "root", Role.admin)
    with app.state.sessions() as session:
        access.suspend(session, "root", "a key leaked")
    refused = browser.post("/sign-in", data={"api_key": artist}, follow_redirects=False)
    assert refused.status_code == 503 and "a key leaked" in refused.text
    _sign_in(browser, admin)
    assert browser.get("/admin").status_code == 200


def test_a_wrong_key_is_shown_at_the_field_and_opens_nothing(app, browser):
    answer = browser.post("/sign-in", data={"api_key": "cg-nope"}, follow_redirects=False)
    assert answer.status_code == 401
    assert 'aria-invalid="true"' in answer.text and "unknown or revoked" in answer.text
    assert "cinegen_session" not in browser.cookies


def test_sign_out_ends_the_session_on_the_server_too(app, browser):
    csrf = _sign_in(browser, _key(app, "eve"))
    cookie = browser.cookies.get("cinegen_session")
    assert browser.post("/sign-out", data={"csrf": "forged"}).status_code == 403
    out = browser.post("/sign-out", data={"csrf": csrf}, follow_redirects=False)
    assert out.status_code == 303 and out.headers["location"] == "/sign-in"
    browser.cookies.set("cinegen_session", cookie)  # a copy of the old cookie opens nothing
    assert browser.get("/backend/video_gen").json()["error"]["code"] == "session_ended"


def test_sign_in_goes_back_only_to_a_page_of_this_server(app, browser):
    secret = _key(app, "fay")
    for target, landing in [("/library", "/library"), ("//evil.example", "/"),
                            ("https://evil.example/", "/"), ("/\\evil.example", "/")]:  # fmt: skip
        answer = browser.post(
            "/sign-in", data={"api_key": secret, "next": target}, follow_redirects=False
        )
        assert answer.headers["location"] == landing


def test_an_expired_session_opens_nothing(app, browser):
    _key(app, "gus")
    with app.state.sessions() as session:
        key = session.query(ApiKey).one()
        old = studio_sessions.start(session, key, lifetime=timedelta(seconds=-1))
    browser.cookies.set("cinegen_session", old.token)
    answer = browser.get("/backend/video_gen")
    assert answer.status_code == 401 and answer.json()["error"]["code"] == "session_ended"


def test_a_sign_in_link_works_once(app, browser):
    with app.state.sessions() as session:
        create_key(session, "owner", role=Role.admin)
        token = studio_sessions.make_link(session, session.query(ApiKey).one())
    first = browser.get(f"/sign-in/link/{token}", follow_redirects=False)
    assert first.status_code == 303 and "cinegen_session" in browser.cookies
    with TestClient(app, base_url="http://127.0.0.1") as other:
        again = other.get(f"/sign-in/link/{token}", follow_redirects=False)
        assert again.status_code == 401 and "used already" in again.text


def test_the_queue_position_counts_the_tasks_ahead_and_search_finds_by_prompt(app, browser):
    csrf = _sign_in(browser, _key(app, "hal"))
    headers = {"X-CSRF-Token": csrf}
    ids = [
        browser.post("/backend/video_gen", json={**TASK, "prompt": p}, headers=headers).json()["id"]
        for p in ("a red circle moving right", "a Blue Star spinning", "a green square rising")
    ]
    places = [browser.get(f"/backend/video_gen/{i}").json()["queue_position"] for i in ids]
    assert places == [1, 2, 3]
    browser.post(f"/backend/video_gen/{ids[0]}/cancel", headers=headers)
    assert browser.get(f"/backend/video_gen/{ids[2]}").json()["queue_position"] == 2
    assert browser.get(f"/backend/video_gen/{ids[0]}").json()["queue_position"] is None
    found = browser.get("/backend/video_gen", params={"prompt": "blue star"}).json()
    assert [t["id"] for t in found["task_responses"]] == [ids[1]]
    none = browser.get("/backend/video_gen", params={"prompt": "100%_"}).json()
    assert none["task_responses"] == []


def _png() -> bytes:
    picture = io.BytesIO()
    Image.fromarray(first_frame_image(64, 64)).save(picture, format="PNG")
    return picture.getvalue()


def test_characters_are_listed_by_name_for_the_mention_menu(app, browser):
    csrf = _sign_in(browser, _key(app, "ivy"))
    assert browser.get("/v1/videos/characters").json() == {"object": "list", "data": []}
    for name in ("zed", "amy"):
        made = browser.post(
            "/v1/videos/characters",
            data={"name": name, "description": f"{name}, a small robot"},
            files={"video": ("ref.png", _png(), "image/png")},
            headers={"X-CSRF-Token": csrf},
        )
        assert made.status_code == 200, made.text
    listed = browser.get("/v1/videos/characters").json()["data"]
    assert [c["name"] for c in listed] == ["amy", "zed"]
    with TestClient(app, base_url="http://127.0.0.1") as other:  # another account sees none
        _sign_in(other, _key(app, "jon"))
        assert other.get("/v1/videos/characters").json()["data"] == []


def test_another_site_cannot_sign_a_visitor_in_or_out(app, browser):
    secret = _key(app, "kim")
    cross = {"Sec-Fetch-Site": "cross-site"}
    forged = browser.post("/sign-in", data={"api_key": secret}, headers=cross)
    assert forged.status_code == 403 and "cinegen_session" not in browser.cookies
    csrf = _sign_in(browser, secret)
    assert browser.post("/sign-out", data={"csrf": csrf}, headers=cross).status_code == 403
    assert browser.get("/backend/video_gen").status_code == 200  # still signed in


def test_a_busy_address_keeps_its_session_and_a_proxy_s_basic_auth_does_not_hide_it(app, browser):
    csrf = _sign_in(browser, _key(app, "lou"))
    proxied = browser.get("/backend/video_gen", headers={"Authorization": "Basic dXNlcjpwYXNz"})
    assert proxied.status_code == 200
    made = browser.post(
        "/backend/video_gen",
        json=TASK,
        headers={"Authorization": "Basic dXNlcjpwYXNz", "X-CSRF-Token": csrf},
    )
    assert made.status_code == 200
    # A bearer key sent beside the cookie is the request's key; the page still reads the
    # session (no error).
    bearer = {"Authorization": f"Bearer {_key(app, 'max')}"}
    assert browser.get("/", headers=bearer).status_code == 200
    failures = app.state.auth_failures
    for _ in range(20):  # someone at the same address types wrong keys
        failures.failed("testclient", "cg-wrong")
    held = " ".join(browser.get("/").text.split())
    assert "failed authentications from this address" in held and "You stay signed in" in held
    assert "cinegen_session" in browser.cookies  # held, not ended


def test_the_list_keeps_to_one_state_when_asked(app, browser):
    csrf = _sign_in(browser, _key(app, "ned"))
    headers = {"X-CSRF-Token": csrf}
    ids = [browser.post("/backend/video_gen", json=TASK, headers=headers).json()["id"]
           for _ in range(3)]  # fmt: skip
    browser.post(f"/backend/video_gen/{ids[1]}/cancel", headers=headers)
    queued = browser.get("/backend/video_gen", params={"status": "queued"}).json()
    assert [t["id"] for t in queued["task_responses"]] == [ids[2], ids[0]]
    cancelled = browser.get("/backend/video_gen", params={"status": "cancelled"}).json()
    assert [t["id"] for t in cancelled["task_responses"]] == [ids[1]]
    wrong = browser.get("/backend/video_gen", params={"status": "done"})
    assert wrong.status_code == 400 and wrong.json()["error"]["param"].endswith("status")


def test_pages_load_only_this_server_s_files_and_are_not_framed(app, browser):
    _sign_in(browser, _key(app, "ola"))
    for path in ("/", "/library", "/verify", "/sign-in"):
        policy = browser.get(path).headers["content-security-policy"]
        assert "default-src 'self'" in policy and "frame-ancestors 'none'" in policy
        assert "unsafe-inline" not in policy and "unsafe-eval" not in policy
