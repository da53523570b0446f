"""Limits and keys at the HTTP edge: 429 with Retry-After, idempotent retries, revocation."""

from __future__ import annotations

import io

import pytest
from fastapi.testclient import TestClient
from PIL import Image
from sqlalchemy import select

from cinegen.api.app import create_app
from cinegen.config import Settings
from cinegen.store.db import open_database
from cinegen.store.keys import create_key, list_keys, revoke_key
from cinegen.store.models import Task, Upload

BODY = {"prompt": "a red circle", "size": "160x96", "seconds": "1", "model": "wan-tiny-random",
        "seed": 1}  # fmt: skip


@pytest.fixture
def api(tmp_path):
    sessions = open_database(tmp_path / "data")
    settings = Settings(
        data_dir=tmp_path / "data", max_active_tasks_per_account=2, max_queued_tasks=3
    )
    client = TestClient(create_app(settings, sessions))  # no worker: tasks stay queued

    def key(name: str) -> dict[str, str]:
        with sessions() as session:
            return {"Authorization": f"Bearer {create_key(session, name).secret}"}

    return client, key, sessions


def test_an_account_over_its_limit_and_a_full_queue_answer_429(api):
    client, key, _ = api
    ada, bob = key("ada"), key("bob")
    assert client.post("/v1/videos", json=BODY, headers=ada).status_code == 200
    assert client.post("/v1/videos", json=BODY, headers=ada).status_code == 200
    over = client.post("/v1/videos", json=BODY, headers=ada)
    assert over.status_code == 429 and int(over.headers["Retry-After"]) > 0
    assert over.json()["error"]["code"] == "too_many_active_tasks"

    first = client.post("/v1/videos", json=BODY, headers={**bob, "Idempotency-Key": "k"})
    assert first.status_code == 200  # the third queued task: the queue is full now
    full = client.post("/v1/videos", json=BODY, headers=key("cy"))
    assert full.status_code == 429 and full.json()["error"]["code"] == "queue_full"
    # A retry of an accepted request is that task, whatever the limits say now ...
    again = client.post("/v1/videos", json=BODY, headers={**bob, "Idempotency-Key": "k"})
    assert again.status_code == 200 and again.json()["id"] == first.json()["id"]
    # ... but a new key is a new request, and limits apply to it.
    new = client.post("/v1/videos", json=BODY, headers={**bob, "Idempotency-Key": "k2"})
    assert new.status_code == 429


def test_a_revoked_key_fails_on_its_very_next_request(api):
    client, key, sessions = api
    headers = key("temp")
    assert client.get("/v1/videos", headers=headers).status_code == 200
    with sessions() as session:
        (stored,) = [k for k in list_keys(session) if k.name == "temp"]
        revoke_key(session, stored.id)
    refused = client.get("/v1/videos", headers=headers)
    assert refused.status_code == 401 and refused.json()["error"]["code"] == "invalid_api_key"


def test_a_refused_request_keeps_neither_its_image_nor_a_task(api, tmp_path):
    client, key, sessions = api
    png = io.BytesIO()
    Image.new("RGB", (32, 32), (200, 10, 10)).save(png, format="PNG")
    refused = client.post(
        "/v1/videos",
        data={"prompt": "a red wall", "size": "99999x1", "model": "cinegen-tiny"},
        files={"input_reference": ("wall.png", png.getvalue(), "image/png")},
        headers=key("ada"),
    )
    assert refused.status_code == 400 and refused.json()["error"]["param"] == "size"
    with sessions() as session:
        assert session.scalars(select(Upload)).all() == []
        assert session.scalars(select(Task)).all() == []
    uploads = tmp_path / "data" / "uploads"
    assert not uploads.exists() or list(uploads.iterdir()) == []


@pytest.mark.draws_seed
def test_the_seed_is_fixed_when_the_task_is_accepted(api):
    client, key, _ = api
    headers = key("ada")
    unseeded = {name: value for name, value in BODY.items() if name != "seed"}
    task_id = client.post("/v1/videos", json=unseeded, headers=headers).json()["id"]
    seed = client.get(f"/v1/tasks/{task_id}", headers=headers).json()["spec"]["seed"]
    assert isinstance(seed, int)  # a retried attempt renders the same video
