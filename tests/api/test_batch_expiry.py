"""A batch's completion window, with the official ``openai`` SDK on a live server: a batch
not done when its window ends is ``expired``, its finished lines kept and the rest dropped,
as OpenAI's Batch API does. The clock is moved by handing ``now`` to the server's own chore
(``batch_work.advance_open``), or by moving ``expires_at`` back: no test waits a day."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import openai
import pytest
from sqlalchemy import select

from cinegen.api.app import create_app
from cinegen.api.openai import batch_work
from cinegen.config import Settings
from cinegen.jobs.queue import claim
from cinegen.jobs.worker import Worker
from cinegen.store.db import open_database
from cinegen.store.keys import create_key
from cinegen.store.models import Batch, Task, TaskState, WebhookDelivery, utcnow

from ..servers import serving, worker_sharing

pytestmark = pytest.mark.slow  # the official SDK against a live server, and a few renders

TINY = {"model": "wan-tiny-random", "size": "96x96", "seconds": "0.5"}
WINDOW_ENDED = timedelta(seconds=1)  # just past a batch's expires_at


def request_line(number: int, **body: object) -> dict:
    body = {**TINY, "prompt": f"a blue square moving left, take {number}", "seed": number, **body}
    return {"custom_id": f"shot-{number}", "method": "POST", "url": "/v1/videos", "body": body}


def jsonl(lines: list[dict]) -> bytes:
    return "".join(json.dumps(line) + "\n" for line in lines).encode()


class Live:
    """A server whose tasks render only when a test says so (``worker.run_once``)."""

    def __init__(self, url: str, settings: Settings, data_dir: Path, worker: Worker) -> None:
        self.url, self.settings, self.data_dir, self.worker = url, settings, data_dir, worker
        self.sessions = open_database(data_dir)

    def client(self, name: str) -> openai.OpenAI:
        with self.sessions() as session:
            secret = create_key(session, f"{name}-{time.monotonic_ns()}").secret
        return openai.OpenAI(base_url=f"{self.url}/v1", api_key=secret, max_retries=0)

    def advance(self, batch_id: str, past: timedelta) -> None:
        """The server's chore, run as if ``past`` after the batch's window ended."""
        with self.sessions() as session:
            expires_at = session.get(Batch, batch_id).expires_at
            batch_work.advance_open(session, settings=self.settings, now=expires_at + past)

    def tasks(self, batch_id: str) -> dict[str, Task]:
        """The batch's tasks by their line's custom_id."""
        with self.sessions() as session:
            batch = session.get(Batch, batch_id)
            return {r.custom_id: session.get(Task, r.task_id) for r in batch.requests if r.task_id}

    def events(self, event_type: str) -> list[str]:
        """The ids the outbox's events of ``event_type`` are about."""
        with self.sessions() as session:
            rows = session.scalars(
                select(WebhookDelivery).where(WebhookDelivery.type == event_type)
            ).all()
            return [json.loads(row.body)["data"]["id"] for row in rows]


@pytest.fixture(scope="module")
def live(tmp_path_factory, engine) -> Iterator[Live]:
    data_dir = tmp_path_factory.mktemp("expiry")
    # Nothing listens on the discard port: the events stay in the outbox, which is enough.
    settings = Settings(data_dir=data_dir, max_active_tasks_per_account=3, poll_after_ms=100,
                        webhook_urls=["http://127.0.0.1:9/hooks/"])  # fmt: skip
    sessions = open_database(data_dir)
    worker = worker_sharing(engine, settings, sessions)
    with serving(create_app(settings, sessions), settings) as url:
        yield Live(url, settings, data_dir, worker)


def lines_of(client: openai.OpenAI, file_id: str) -> list[dict]:
    return [json.loads(line) for line in client.files.content(file_id).text.splitlines()]


def make_batch(client: openai.OpenAI, lines: list[dict]):
    uploaded = client.files.create(file=("shots.jsonl", jsonl(lines)), purpose="batch")
    return client.batches.create(
        input_file_id=uploaded.id, endpoint="/v1/videos", completion_window="24h"
    )


def test_a_batch_past_its_window_expires_keeping_what_was_done(live):
    client = live.client("late")
    client.webhooks.create(
        name="late", url="http://127.0.0.1:9/hooks/late", event_types=["batch.expired"]
    )
    # Line 2 is refused (a single create's answer); the account may hold 3 unfinished tasks,
    # so lines 5 to 7 wait.
    lines = [request_line(n, **({"size": "big"} if n == 2 else {})) for n in range(1, 8)]
    batch = make_batch(client, lines)
    assert (batch.status, batch.request_counts.total, batch.request_counts.failed) == (
        "in_progress", 7, 1,
    )  # fmt: skip
    assert live.worker.run_once() and live.worker.run_once()  # two videos made
    client.batches.retrieve(batch.id)  # two more lines queued in their place
    done = sorted(c for c, t in live.tasks(batch.id).items() if t.state is TaskState.succeeded)
    assert len(done) == 2
    with live.sessions() as session:  # a worker starts a third, which is still rendering
        rendering = claim(session, live.worker.profile(), live.worker.policy)
        assert rendering is not None
    unfinished = [f"shot-{n}" for n in range(1, 8) if n != 2 and f"shot-{n}" not in done]
    assert len(unfinished) == 4  # 1 rendering, 2 queued, 1 never queued

    live.advance(batch.id, WINDOW_ENDED)

    expired = client.batches.retrieve(batch.id)
    assert expired.status == "expired" and expired.expired_at == expired.expires_at
    assert expired.completed_at is None and expired.cancelled_at is None
    counts = expired.request_counts
    assert (counts.total, counts.completed, counts.failed) == (7, 2, 5)
    output = lines_of(client, expired.output_file_id)
    assert [line["custom_id"] for line in output] == done
    assert all(line["response"]["body"]["status"] == "completed" for line in output)
    errors = {line["custom_id"]: line for line in lines_of(client, expired.error_file_id)}
    assert list(errors) == ["shot-2", *unfinished]  # in the file's order
    assert errors["shot-2"]["response"]["status_code"] == 400  # refused, as it was
    for custom_id in unfinished:
        line = errors[custom_id]
        assert line["response"] is None and line["error"]["code"] == "batch_expired"
        assert "24h" in line["error"]["message"] and line["id"].startswith("batch_req_")
    # Its unfinished tasks were cancelled: the queued ones at once, the rendering one asked
    # to stop at its next step; nothing of the batch is rendered after.
    tasks = live.tasks(batch.id)
    assert [c for c in unfinished if c not in tasks] == unfinished[-1:]  # never queued
    stopping = [c for c in unfinished if c in tasks and tasks[c].id == rendering.id]
    assert len(stopping) == 1 and tasks[stopping[0]].cancel_requested
    queued = [c for c in unfinished if c in tasks and c not in stopping]
    assert len(queued) == 2 and all(tasks[c].state is TaskState.cancelled for c in queued)
    assert not live.worker.run_once()
    assert live.events("batch.expired") == [batch.id]
    with pytest.raises(openai.ConflictError):
        client.batches.cancel(batch.id)
    again = client.batches.retrieve(batch.id)  # an expired batch stays as it is
    assert (again.status, again.error_file_id) == ("expired", expired.error_file_id)


def test_a_batch_done_before_its_window_ended_is_completed_however_late_it_is_read(live):
    client = live.client("on-time")
    batch = make_batch(client, [request_line(n) for n in (1, 2)])
    assert live.worker.run_once() and live.worker.run_once()
    # Nobody reads it before its window ends (if the server's chore did, it is completed
    # already, which is what is asserted).
    live.advance(batch.id, timedelta(hours=1))
    ended = client.batches.retrieve(batch.id)
    assert ended.status == "completed" and ended.expired_at is None
    counts = ended.request_counts
    assert (counts.total, counts.completed, counts.failed) == (2, 2, 0)
    assert [line["custom_id"] for line in lines_of(client, ended.output_file_id)] == [
        "shot-1",
        "shot-2",
    ]
    assert ended.error_file_id is None and batch.id not in live.events("batch.expired")


def test_cancelling_a_batch_past_its_window_finds_it_expired(live):
    client = live.client("too-late")
    batch = make_batch(client, [request_line(n) for n in (1, 2)])
    with live.sessions() as session:  # its window ended a minute ago, unnoticed
        stored = session.get(Batch, batch.id)
        stored.expires_at = utcnow() - timedelta(minutes=1)
        session.commit()
    with pytest.raises(openai.ConflictError) as caught:
        client.batches.cancel(batch.id)
    assert "expired" in caught.value.body["message"]
    seen = client.batches.retrieve(batch.id)
    assert seen.status == "expired" and seen.output_file_id is None
    codes = [line["error"]["code"] for line in lines_of(client, seen.error_file_id)]
    assert codes == ["batch_expired"] * 2
    assert all(t.state is TaskState.cancelled for t in live.tasks(batch.id).values())
    assert not live.worker.run_once()


def test_a_line_queued_while_another_refresh_expires_the_batch_is_never_rendered(live, monkeypatch):
    """Two refreshes at once (the API's chore and a retrieve): one queues a waiting line's
    task while the other expires the batch, which saw no task to cancel. The task is
    cancelled all the same, and the line is reported expired."""
    client = live.client("racing")
    batch = make_batch(client, [request_line(n) for n in range(1, 5)])  # line 4 waits
    assert live.worker.run_once()  # room for line 4 now
    create_task = batch_work.create_task
    raced: list[str] = []

    def create_then_expire(*args, **kwargs):
        task = create_task(*args, **kwargs)
        if not raced:  # the other refresh ends the batch before this one records the task
            raced.append(task.id)
            live.advance(batch.id, WINDOW_ENDED)
        return task

    monkeypatch.setattr(batch_work, "create_task", create_then_expire)
    with live.sessions() as session:
        batch_work.refresh(session, session.get(Batch, batch.id), settings=live.settings)
    assert len(raced) == 1
    with live.sessions() as session:
        assert session.get(Task, raced[0]).state is TaskState.cancelled
    ended = client.batches.retrieve(batch.id)
    assert ended.status == "expired"
    errors = {
        line["custom_id"]: line["error"]["code"] for line in lines_of(client, ended.error_file_id)
    }
    assert errors == {f"shot-{n}": "batch_expired" for n in (2, 3, 4)}
    assert not live.worker.run_once()
