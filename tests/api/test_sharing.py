"""Review before publishing, as owners, reviewers and the public meet it (review on)."""

from __future__ import annotations

import httpx
import pytest

from cinegen.store import audit
from cinegen.store.keys import create_key
from cinegen.store.models import Role
from tests.api.conftest import video_gen_ended


@pytest.fixture(scope="module")
def service_settings() -> dict[str, object]:
    return {"review": True}


def _client(service, key: str | None = None) -> httpx.Client:
    headers = {"Authorization": f"Bearer {key}"} if key else {}
    return httpx.Client(base_url=service.url, headers=headers)


def _generation(http: httpx.Client, prompt: str) -> str:
    body = {"prompt": prompt, "n_frames": 15, "width": 96, "height": 64, "seed": 1}
    created = http.post("/backend/video_gen", json=body)
    assert created.status_code == 200, created.text
    task = video_gen_ended(http, created.json()["id"])
    assert task["status"] == "succeeded", task
    return str(task["generations"][0]["id"])


def test_only_what_a_reviewer_approved_gets_a_public_page(service):
    with service.sessions() as session:
        reviewer_key = create_key(session, "rita", role=Role.reviewer).secret
        admin_key = create_key(session, "root", role=Role.admin).secret
    artist, reviewer = _client(service, service.key("ada")), _client(service, reviewer_key)
    admin, anyone = _client(service, admin_key), _client(service)
    kept, refused = _generation(artist, "a red circle"), _generation(artist, "a blue square")
    assert artist.get(f"/v1/generations/{kept}/share").status_code == 404  # not asked yet

    asked = artist.post(f"/v1/generations/{kept}/share").json()
    assert (asked["state"], asked["url"]) == ("pending", None)
    artist.post(f"/v1/generations/{refused}/share")
    assert artist.get("/v1/review/queue").json()["error"]["code"] == "reviewer_only"
    queue = reviewer.get("/v1/review/queue").json()["data"]
    assert [(i["generation_id"], i["prompt"]) for i in queue] == [
        (kept, "a red circle"), (refused, "a blue square")]  # fmt: skip
    watched = reviewer.get(queue[0]["content_url"])
    assert watched.status_code == 200 and watched.headers["content-type"] == "video/mp4"

    approved = reviewer.post(f"/v1/review/{kept}/approve").json()
    assert approved["state"] == "approved" and approved["url"]
    page = anyone.get(approved["url"])  # no key: it is public
    assert page.status_code == 200 and "a red circle" in page.text and "<video" in page.text
    assert "generated, not filmed" in page.text
    # the marks its record lists (96x64 is too small for the invisible one)
    assert "a visible mark" in page.text and "C2PA Content Credentials" in page.text
    assert "invisible watermark" not in page.text
    media = anyone.get(approved["url"] + "/media")
    assert media.status_code == 200 and media.content == watched.content

    rejected = reviewer.post(f"/v1/review/{refused}/reject", json={"reason": "off brand"})
    assert rejected.json()["state"] == "rejected" and rejected.json()["url"] is None
    again = artist.post(f"/v1/generations/{refused}/share").json()
    assert (again["state"], again["reason"], again["url"]) == ("rejected", "off brand", None)
    late = reviewer.post(f"/v1/review/{refused}/approve")
    assert late.status_code == 409 and late.json()["error"]["code"] == "already_decided"
    assert anyone.get("/share/not-a-real-id").status_code == 404
    stranger = _client(service, service.key("eve"))
    assert stranger.post(f"/v1/generations/{kept}/share").status_code == 404

    admin.post("/v1/admin/access/suspend", json={"reason": "incident"})
    assert anyone.get(approved["url"]).status_code == 503  # the switch closes public pages too
    admin.post("/v1/admin/access/resume")
    assert anyone.get(approved["url"]).status_code == 200
    with service.sessions() as session:
        actions = [(e.action, e.target) for e in audit.read(session) if "." in e.action]
    assert ("review.approve", kept) in actions and ("review.reject", refused) in actions
    assert ("share.request", kept) in actions
