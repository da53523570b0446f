"""The all-access switch over HTTP: the very next non-admin request fails on every route,
admins go on, queued tasks are kept, and the audit log says who did it."""

from __future__ import annotations

import httpx
import openai
import pytest

from cinegen.store.keys import create_key
from cinegen.store.models import Role

SMALL = {"size": "160x96", "seconds": "1", "extra_body": {"seed": 1}}


@pytest.mark.slow  # renders
def test_the_switch_stops_every_non_admin_call_at_once_and_keeps_the_tasks(service):
    with service.sessions() as session:
        root = create_key(session, "root", role=Role.admin).secret
    artist_key = service.key("artist")
    artist = httpx.Client(base_url=service.url, headers={"Authorization": f"Bearer {artist_key}"})
    admin = httpx.Client(base_url=service.url, headers={"Authorization": f"Bearer {root}"})
    sdk = openai.OpenAI(base_url=f"{service.url}/v1", api_key=artist_key, max_retries=0)
    video = sdk.videos.create(prompt="a red circle moving left", **SMALL)
    assert artist.get(f"/v1/videos/{video.id}").status_code == 200
    assert artist.get("/v1/admin/access").json()["error"]["code"] == "admin_only"

    suspended = admin.post("/v1/admin/access/suspend", json={"reason": "a key leaked"})
    assert suspended.status_code == 200 and suspended.json()["suspended"] is True
    calls = [
        ("GET", "/v1/videos", None),
        ("GET", f"/v1/videos/{video.id}", None),
        ("POST", "/v1/videos", {"prompt": "a blue square"}),
        ("GET", f"/v1/videos/{video.id}/content", None),
        ("GET", f"/v1/tasks/{video.id}", None),
        ("GET", "/backend/video_gen", None),
        ("POST", "/backend/video_gen", {"prompt": "a blue square"}),
    ]
    for method, path, body in calls:
        answer = artist.request(method, path, json=body)
        assert answer.status_code == 503, (path, answer.text)
        error = answer.json()["error"]
        assert error["code"] == "access_suspended" and "a key leaked" in error["message"]
        assert int(answer.headers["retry-after"]) > 0
    with pytest.raises(openai.APIStatusError) as caught:
        sdk.videos.list()
    assert caught.value.status_code == 503
    assert admin.get("/v1/videos").status_code == 200  # admins go on
    assert admin.get("/v1/admin/access").json()["reason"] == "a key leaked"

    assert admin.post("/v1/admin/access/resume").json() == {
        "suspended": False, "since": None, "actor": None, "reason": None}  # fmt: skip
    done = sdk.videos.poll(video.id, poll_interval_ms=100)  # kept through the suspension
    assert done.status == "completed", done.error
    lines = admin.get("/v1/admin/audit").json()["data"]
    actions = [(line["action"], line["actor"]) for line in lines]
    admin_id = actions[-1][1]
    assert actions[-2:] == [("access.suspend", admin_id), ("access.resume", admin_id)]
    assert admin_id.startswith("acct_") and ("key.create", "cli") in actions
