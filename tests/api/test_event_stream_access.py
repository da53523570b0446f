"""An open event stream is a request that goes on: revoking its key or suspending access
ends it at once with an ``error`` event, as the next request would be refused."""

from __future__ import annotations

import json
import threading
import time

import httpx
import pytest

from cinegen.store.keys import create_key, revoke_key
from cinegen.store.models import Role

pytestmark = pytest.mark.slow  # streams from a live server

TASK = {"prompt": "a red circle moving left", "n_frames": 12, "width": 64, "height": 64, "seed": 1}


@pytest.fixture(scope="module")
def held(service):
    """This module's service with its worker stopped: every task stays queued, so every
    stream stays open until something else ends it."""
    assert service.worker_stop is not None
    service.worker_stop.set()
    return service


class Listener:
    """Reads a task's event stream in a thread: the events so far, and whether it ended."""

    def __init__(self, url: str, secret: str, task_id: str) -> None:
        self.events: list[tuple[str, dict]] = []
        self.ended = threading.Event()
        auth = {"Authorization": f"Bearer {secret}"}
        self.thread = threading.Thread(
            target=self._read, args=(f"{url}/v1/tasks/{task_id}/events", auth), daemon=True
        )
        self.thread.start()

    def _read(self, url: str, headers: dict[str, str]) -> None:
        with httpx.stream("GET", url, headers=headers, timeout=60) as answer:
            kind = "message"
            for line in answer.iter_lines():
                if line.startswith("event: "):
                    kind = line.removeprefix("event: ")
                elif line.startswith("data: "):
                    self.events.append((kind, json.loads(line.removeprefix("data: "))))
        self.ended.set()

    def wait_for_events(self, count: int) -> None:
        deadline = time.monotonic() + 30
        while len(self.events) < count:
            assert time.monotonic() < deadline, self.events
            time.sleep(0.05)


def _queue(url: str, secret: str) -> str:
    answer = httpx.post(f"{url}/backend/video_gen", json=TASK,
                        headers={"Authorization": f"Bearer {secret}"})  # fmt: skip
    assert answer.status_code == 200, answer.text
    return str(answer.json()["id"])


def test_a_revoked_key_s_stream_ends_with_the_reason(held):
    with held.sessions() as session:
        new = create_key(session, "ada")
    listener = Listener(held.url, new.secret, _queue(held.url, new.secret))
    listener.wait_for_events(1)
    assert listener.events[0][1]["state"] == "queued" and not listener.ended.is_set()
    with held.sessions() as session:
        revoke_key(session, new.key.id)
    assert listener.ended.wait(10), "the stream went on after its key was revoked"
    kind, data = listener.events[-1]
    assert kind == "error" and data["code"] == "invalid_api_key"


def test_the_switch_ends_non_admin_streams_and_spares_admins(held):
    with held.sessions() as session:
        root = create_key(session, "root", role=Role.admin).secret
    artist = held.key("artist")
    artist_stream = Listener(held.url, artist, _queue(held.url, artist))
    admin_stream = Listener(held.url, root, _queue(held.url, root))
    artist_stream.wait_for_events(1)
    admin_stream.wait_for_events(1)
    auth = {"Authorization": f"Bearer {root}"}
    suspended = httpx.post(f"{held.url}/v1/admin/access/suspend", headers=auth,
                           json={"reason": "a key leaked"})  # fmt: skip
    assert suspended.status_code == 200
    try:
        assert artist_stream.ended.wait(10), "the stream went on through the suspension"
        kind, data = artist_stream.events[-1]
        assert kind == "error" and data["code"] == "access_suspended"
        assert "a key leaked" in data["message"]
        assert not admin_stream.ended.wait(1)  # several polls later, the admin still listens
    finally:
        httpx.post(f"{held.url}/v1/admin/access/resume", headers=auth)
