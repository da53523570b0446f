"""The Batch API with the official ``openai`` SDK: a JSONL file of video requests in, an
output and an error file out, on a real server on loopback that is restarted midway."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path

import openai
import pytest

from cinegen.api.app import create_app
from cinegen.api.openai import batch_input
from cinegen.config import Settings
from cinegen.media.encode import probe
from cinegen.store.db import open_database
from cinegen.store.keys import create_key, revoke_key
from cinegen.store.models import Batch, BatchState, utcnow

from ..servers import serving, worker_sharing

pytestmark = pytest.mark.slow  # the official SDK against live servers that render

TINY = {"model": "wan-tiny-random", "size": "96x96", "seconds": "0.5"}
# Lines the content policy refuses, by line number (tests/api/test_policy.py's kinds).
REFUSED = {
    2: "Barack Obama dancing in a nightclub",
    10: "poll workers shredding ballots on election night",
    19: "Barack Obama shaking hands with a crowd",
}


def request_line(number: int, prompt: str | None = None) -> dict:
    body = {"prompt": prompt or f"a red circle moving right, take {number}", "seed": number}
    return {"custom_id": f"shot-{number}", "method": "POST", "url": "/v1/videos",
            "body": {**TINY, **body}}  # fmt: skip


def jsonl(lines: list[dict]) -> bytes:
    return "".join(json.dumps(line) + "\n" for line in lines).encode()


@contextmanager
def server(data_dir: Path, engine, *, rendering: bool) -> Iterator[str]:
    """A cinegen server on ``data_dir``'s database, with a worker if ``rendering``: stopping
    it and starting another on the same directory is a restart."""
    settings = Settings(data_dir=data_dir, max_active_tasks_per_account=4, poll_after_ms=100)
    sessions = open_database(data_dir)
    stop = threading.Event()
    worker = threading.Thread(
        target=worker_sharing(engine, settings, sessions).run, args=(stop, 0.05), daemon=True
    )
    with serving(create_app(settings, sessions), settings) as url:
        if rendering:
            worker.start()
        yield f"{url}/v1"
        stop.set()
        if rendering:
            worker.join(timeout=120)


def client_for(base_url: str, data_dir: Path, name: str) -> openai.OpenAI:
    with open_database(data_dir)() as session:
        secret = create_key(session, name).secret
    return openai.OpenAI(base_url=base_url, api_key=secret, max_retries=0)


def until(client: openai.OpenAI, batch_id: str, done, timeout: float = 600):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        batch = client.batches.retrieve(batch_id)
        if done(batch):
            return batch
        time.sleep(0.5)
    raise AssertionError(f"batch {batch_id} is still {batch.status}: {batch.request_counts}")


def lines_of(client: openai.OpenAI, file_id: str) -> list[dict]:
    return [json.loads(line) for line in client.files.content(file_id).text.splitlines()]


def test_twenty_lines_three_refused_run_to_the_end_through_a_restart(tmp_path, engine):
    data_dir = tmp_path / "data"
    lines = [request_line(n, REFUSED.get(n)) for n in range(1, 21)]
    with server(data_dir, engine, rendering=True) as url:
        client = client_for(url, data_dir, "batcher")
        uploaded = client.files.create(file=("shots.jsonl", jsonl(lines)), purpose="batch")
        assert (uploaded.purpose, uploaded.filename) == ("batch", "shots.jsonl")
        assert uploaded.bytes == len(jsonl(lines))
        assert client.files.content(uploaded.id).content == jsonl(lines)
        batch = client.batches.create(
            input_file_id=uploaded.id, endpoint="/v1/videos", completion_window="24h",
            metadata={"project": "test"},
        )  # fmt: skip
        assert batch.status == "in_progress" and batch.request_counts.total == 20
        assert batch.metadata == {"project": "test"} and batch.input_file_id == uploaded.id
        midway = until(client, batch.id, lambda b: b.request_counts.completed >= 2)
        assert midway.status == "in_progress" and midway.output_file_id is None
        secret = client.api_key
    # The server (and its worker) stopped with most of the batch still to do.
    with server(data_dir, engine, rendering=True) as url:
        client = openai.OpenAI(base_url=url, api_key=secret, max_retries=0)
        done = until(client, batch.id, lambda b: b.status == "completed")
        counts = done.request_counts
        assert (counts.total, counts.completed, counts.failed) == (20, 17, 3)
        assert done.completed_at >= done.in_progress_at >= done.created_at

        output = lines_of(client, done.output_file_id)
        expected = [f"shot-{n}" for n in range(1, 21) if n not in REFUSED]
        assert [line["custom_id"] for line in output] == expected
        for line in output:
            response = line["response"]
            assert response["status_code"] == 200 and line["error"] is None
            assert response["body"]["status"] == "completed"
            assert response["body"]["size"] == "96x96"
            assert line["id"].startswith("batch_req_") and response["request_id"]
        first = output[0]["response"]["body"]["id"]
        as_retrieved = client.videos.with_raw_response.retrieve(first).http_response.json()
        assert output[0]["response"]["body"] == as_retrieved
        client.videos.download_content(first).write_to_file(tmp_path / "first.mp4")
        info = probe(tmp_path / "first.mp4")
        assert (info.width, info.height, info.n_frames) == (96, 96, 12)

        refused = lines_of(client, done.error_file_id)
        assert [line["custom_id"] for line in refused] == [f"shot-{n}" for n in REFUSED]
        for line in refused:  # the answer a single create of that line gets
            assert line["response"]["status_code"] == 400
            error = line["response"]["body"]["error"]
            assert error["code"] == "content_policy_violation" and error["param"] == "prompt"
        assert client.files.retrieve(done.error_file_id).purpose == "batch_output"
        # Its videos are ordinary ones: 17 of them, and none of the refused prompts.
        assert len(client.videos.list(limit=100).data) == 17


@pytest.fixture(scope="module")
def idle(tmp_path_factory, engine) -> Iterator[tuple[str, Path]]:
    """A server whose tasks stay queued: no worker."""
    data_dir = tmp_path_factory.mktemp("idle")
    with server(data_dir, engine, rendering=False) as url:
        yield url, data_dir


@pytest.fixture
def client(idle) -> openai.OpenAI:
    return client_for(*idle, f"artist-{time.monotonic_ns()}")


def test_a_cancelled_batch_stops_and_names_what_never_ran(client):
    uploaded = client.files.create(
        file=("six.jsonl", jsonl([request_line(n) for n in range(1, 7)])), purpose="batch"
    )
    batch = client.batches.create(
        input_file_id=uploaded.id, endpoint="/v1/videos", completion_window="24h"
    )
    assert batch.request_counts.total == 6
    cancelled = client.batches.cancel(batch.id)
    assert cancelled.status == "cancelled" and cancelled.cancelled_at is not None
    counts = cancelled.request_counts
    assert (counts.total, counts.completed, counts.failed) == (6, 0, 6)
    assert cancelled.output_file_id is None
    errors = lines_of(client, cancelled.error_file_id)
    assert [line["custom_id"] for line in errors] == [f"shot-{n}" for n in range(1, 7)]
    # 4 were queued (the account's limit of unfinished tasks), then cancelled; 2 never ran.
    assert [line["error"]["code"] for line in errors] == ["cancelled"] * 4 + ["batch_cancelled"] * 2
    assert all(v.status == "failed" for v in client.videos.list().data)
    with pytest.raises(openai.ConflictError):
        client.batches.cancel(batch.id)


def test_mistakes_are_named_with_what_is_allowed(client):
    with pytest.raises(openai.BadRequestError) as caught:
        client.files.create(file=("a.jsonl", b"{}\n"), purpose="fine-tune")
    assert caught.value.body["param"] == "purpose" and "batch" in caught.value.body["message"]
    good = client.files.create(file=("a.jsonl", jsonl([request_line(1)])), purpose="batch")
    for param, change in {"endpoint": "/v1/chat/completions", "completion_window": "1h"}.items():
        arguments = {"endpoint": "/v1/videos", "completion_window": "24h", param: change}
        with pytest.raises(openai.BadRequestError) as caught:
            client.batches.create(input_file_id=good.id, **arguments)
        error = caught.value.body
        assert error["param"] == param and error["code"] == "invalid_value"
        assert ("/v1/videos" if param == "endpoint" else "24h") in error["message"]

    bad = [
        b"not json",
        json.dumps({**request_line(2), "url": "/v1/images"}).encode(),
        json.dumps({**request_line(3), "method": "GET"}).encode(),
        json.dumps({**request_line(4), "custom_id": "shot-1"}).encode(),
        json.dumps({**request_line(5), "body": "a prompt"}).encode(),
    ]
    mixed = client.files.create(
        file=("mixed.jsonl", jsonl([request_line(1)]) + b"\n".join(bad)), purpose="batch"
    )
    failed = client.batches.create(
        input_file_id=mixed.id, endpoint="/v1/videos", completion_window="24h"
    )
    assert failed.status == "failed" and failed.failed_at is not None
    found = [(e.line, e.param) for e in failed.errors.data]
    assert found == [(2, None), (3, "url"), (4, "method"), (5, "custom_id"), (6, "body")]
    assert "/v1/videos" in failed.errors.data[1].message
    assert "POST" in failed.errors.data[2].message
    assert client.videos.list().data == []  # a refused file queues nothing


def test_a_line_refused_by_validation_has_a_single_creates_answer(client):
    lines = [request_line(1), {**request_line(2), "body": {**TINY, "prompt": "x", "size": "big"}},
             {**request_line(3), "body": {**TINY, "prompt": "x", "colour": "red"}}]  # fmt: skip
    uploaded = client.files.create(file=("v.jsonl", jsonl(lines)), purpose="batch")
    batch = client.batches.create(
        input_file_id=uploaded.id, endpoint="/v1/videos", completion_window="24h"
    )
    assert (batch.status, batch.request_counts.failed) == ("in_progress", 2)
    with pytest.raises(openai.BadRequestError) as single:
        client.videos.create(prompt="x", model="cinegen-tiny", size="big", seconds="1")
    cancelled = client.batches.cancel(batch.id)
    errors = {line["custom_id"]: line for line in lines_of(client, cancelled.error_file_id)}
    assert errors["shot-2"]["response"]["body"]["error"] == single.value.body
    assert errors["shot-3"]["response"]["body"]["error"]["param"] == "colour"


def test_another_account_sees_neither_the_batch_nor_its_files(client, idle):
    uploaded = client.files.create(file=("a.jsonl", jsonl([request_line(1)])), purpose="batch")
    batch = client.batches.create(
        input_file_id=uploaded.id, endpoint="/v1/videos", completion_window="24h"
    )
    stranger = client_for(*idle, "stranger")
    for call in (stranger.files.retrieve, stranger.files.content):
        with pytest.raises(openai.NotFoundError):
            call(uploaded.id)
    for call in (stranger.batches.retrieve, stranger.batches.cancel):
        with pytest.raises(openai.NotFoundError):
            call(batch.id)
    assert stranger.batches.list().data == [] and stranger.files.list().data == []
    second = client.files.create(file=("b.jsonl", jsonl([request_line(2)])), purpose="batch")
    assert [f.id for f in client.files.list(purpose="batch")] == [second.id, uploaded.id]
    assert [f.id for f in client.files.list(order="asc", limit=1)] == [uploaded.id, second.id]
    assert client.files.list(purpose="batch_output").data == []
    with pytest.raises(openai.BadRequestError) as caught:  # nor use its file
        stranger.batches.create(
            input_file_id=uploaded.id, endpoint="/v1/videos", completion_window="24h"
        )
    assert caught.value.body["param"] == "input_file_id"
    later = client.batches.create(
        input_file_id=uploaded.id, endpoint="/v1/videos", completion_window="24h"
    )
    first = client.batches.list(limit=1)  # newest first
    assert [b.id for b in first.data] == [later.id] and first.has_more
    rest = client.batches.list(limit=1, after=later.id)
    assert [b.id for b in rest.data] == [batch.id] and not rest.has_more
    assert [b.id for b in client.batches.list(limit=1)] == [later.id, batch.id]  # auto-paging
    for made in (batch, later):
        client.batches.cancel(made.id)


def test_files_left_half_written_by_a_stopped_server_are_written_by_the_next(client, idle):
    lines = [{**request_line(1), "body": {**TINY, "prompt": "x", "size": "big"}}]
    uploaded = client.files.create(file=("one.jsonl", jsonl(lines)), purpose="batch")
    batch = client.batches.create(
        input_file_id=uploaded.id, endpoint="/v1/videos", completion_window="24h"
    )
    assert batch.status == "completed" and batch.error_file_id is not None  # refused: ended
    with open_database(idle[1])() as session:  # as if its server stopped while writing files
        stored = session.get(Batch, batch.id)
        stored.state, stored.error_file_id = BatchState.finalizing, None
        stored.finalizing_at = utcnow()
        session.commit()
    assert client.batches.retrieve(batch.id).status == "finalizing"  # its writer may be busy
    with open_database(idle[1])() as session:
        session.get(Batch, batch.id).finalizing_at = utcnow() - timedelta(hours=1)
        session.commit()
    again = client.batches.retrieve(batch.id)
    assert again.status == "completed" and again.error_file_id not in (None, batch.error_file_id)
    assert [line["custom_id"] for line in lines_of(client, again.error_file_id)] == ["shot-1"]


def test_a_revoked_key_queues_nothing_more_of_its_batch(idle):
    url, data_dir = idle
    client = client_for(url, data_dir, "revoked-soon")
    six = jsonl([request_line(n) for n in range(1, 7)])
    uploaded = client.files.create(file=("six.jsonl", six), purpose="batch")
    batch = client.batches.create(
        input_file_id=uploaded.id, endpoint="/v1/videos", completion_window="24h"
    )
    with open_database(data_dir)() as session:
        revoke_key(session, session.get(Batch, batch.id).key_id)
        other = create_key(session, "second", account="revoked-soon").secret
    same_account = openai.OpenAI(base_url=url, api_key=other, max_retries=0)
    seen = same_account.batches.retrieve(batch.id)
    assert seen.status == "in_progress" and seen.request_counts.failed == 2  # the 2 waiting
    ended = same_account.batches.cancel(batch.id)
    codes = [line["error"]["code"] for line in lines_of(same_account, ended.error_file_id)]
    assert codes == ["cancelled"] * 4 + ["key_revoked"] * 2


def test_a_prompt_holding_a_line_separator_is_one_line():
    line = request_line(1, "a red circle\u2028moving right")
    lines, errors = batch_input.read_lines(json.dumps(line, ensure_ascii=False).encode(),
                                          "/v1/videos")  # fmt: skip
    assert errors == [] and [x.body["prompt"] for x in lines] == ["a red circle\u2028moving right"]
    crlf = jsonl([request_line(1), request_line(2)]).replace(b"\n", b"\r\n")
    assert [x.custom_id for x in batch_input.read_lines(crlf, "/v1/videos")[0]] == [
        "shot-1",
        "shot-2",
    ]


def test_a_deleted_file_is_gone_but_its_batch_still_names_it(client, idle):
    refused = [{**request_line(1), "body": {**TINY, "prompt": "x", "size": "big"}}]
    uploaded = client.files.create(file=("one.jsonl", jsonl(refused)), purpose="batch")
    batch = client.batches.create(
        input_file_id=uploaded.id, endpoint="/v1/videos", completion_window="24h"
    )
    assert batch.status == "completed" and batch.error_file_id is not None  # refused: ended
    on_disk = list((idle[1] / "files").glob(f"{uploaded.id}.*"))
    assert len(on_disk) == 1

    deleted = client.files.delete(uploaded.id)
    assert (deleted.id, deleted.object, deleted.deleted) == (uploaded.id, "file", True)
    assert not on_disk[0].exists()  # its bytes are gone from the data directory
    with pytest.raises(openai.NotFoundError):
        client.files.retrieve(uploaded.id)
    with pytest.raises(openai.NotFoundError):
        client.files.content(uploaded.id)
    assert uploaded.id not in [f.id for f in client.files.list()]
    assert batch.error_file_id in [f.id for f in client.files.list()]
    with pytest.raises(openai.NotFoundError):  # deleting twice
        client.files.delete(uploaded.id)
    with pytest.raises(openai.BadRequestError) as caught:  # nor can a new batch read it
        client.batches.create(
            input_file_id=uploaded.id, endpoint="/v1/videos", completion_window="24h"
        )
    assert caught.value.body["param"] == "input_file_id"

    again = client.batches.retrieve(batch.id)  # the batch made from it is whole
    assert (again.status, again.input_file_id) == ("completed", uploaded.id)
    assert again.error_file_id == batch.error_file_id
    assert [line["custom_id"] for line in lines_of(client, again.error_file_id)] == ["shot-1"]


def test_another_accounts_file_cannot_be_deleted(client, idle):
    uploaded = client.files.create(file=("a.jsonl", jsonl([request_line(1)])), purpose="batch")
    stranger = client_for(*idle, f"stranger-{time.monotonic_ns()}")
    for file_id in (uploaded.id, "file_unknown"):
        with pytest.raises(openai.NotFoundError):
            stranger.files.delete(file_id)
    assert client.files.content(uploaded.id).content == jsonl([request_line(1)])
