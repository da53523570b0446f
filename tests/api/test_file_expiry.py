"""Files that expire, as OpenAI's Files API does, with the official ``openai`` SDK on a live
server: ``expires_after`` on an upload, ``output_expires_after`` on a batch's output and
error files, and the sweep that deletes them once they have expired. The clock is moved by
handing ``now`` to the server's own chore (``files.sweep_expired``): no test waits an hour."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import openai
import pytest

from cinegen.api.app import create_app
from cinegen.api.openai import files
from cinegen.config import Settings
from cinegen.store.db import open_database
from cinegen.store.keys import create_key

from ..servers import serving

TINY = {"model": "wan-tiny-random", "size": "96x96", "seconds": "0.5"}
HOUR = {"anchor": "created_at", "seconds": 3600}


def request_line(number: int, **body: object) -> dict:
    body = {**TINY, "prompt": f"a green dot moving up, take {number}", "seed": number, **body}
    return {"custom_id": f"shot-{number}", "method": "POST", "url": "/v1/videos", "body": body}


def jsonl(lines: list[dict]) -> bytes:
    return "".join(json.dumps(line) + "\n" for line in lines).encode()


REFUSED = jsonl([request_line(1, size="big")])  # a batch of it ends at once, with an error file


@pytest.fixture
def live(tmp_path) -> Iterator[tuple[str, Path]]:
    """A server with no worker (its tasks stay queued), on its own data directory: each
    test's sweeps see only its own files."""
    data_dir = tmp_path / "data"
    settings = Settings(data_dir=data_dir, max_active_tasks_per_account=4)
    with serving(create_app(settings, open_database(data_dir)), settings) as url:
        yield url, data_dir


@pytest.fixture
def client(live) -> openai.OpenAI:
    url, data_dir = live
    with open_database(data_dir)() as session:
        secret = create_key(session, f"keeper-{time.monotonic_ns()}").secret
    return openai.OpenAI(base_url=f"{url}/v1", api_key=secret, max_retries=0)


def sweep(data_dir: Path, at: int, *, after: int) -> list[str]:
    """The server's chore, run ``after`` seconds past the Unix time ``at``."""
    now = datetime.fromtimestamp(at, UTC) + timedelta(seconds=after)
    with open_database(data_dir)() as session:
        return files.sweep_expired(session, data_dir=data_dir, now=now)


def test_a_file_expires_after_its_seconds_and_is_then_deleted(client, live):
    data_dir = live[1]
    expiring = client.files.create(
        file=("soon.jsonl", jsonl([request_line(1)])), purpose="batch", expires_after=HOUR
    )
    kept = client.files.create(file=("kept.jsonl", jsonl([request_line(2)])), purpose="batch")
    assert expiring.expires_at == expiring.created_at + 3600
    assert client.files.retrieve(expiring.id).expires_at == expiring.expires_at
    assert kept.expires_at == kept.created_at + 2_592_000  # OpenAI's default for batch input
    on_disk = data_dir / "files" / f"{expiring.id}.jsonl"
    assert on_disk.is_file()

    # A second before (the stored time has a fraction the answer's whole seconds drop).
    assert sweep(data_dir, expiring.expires_at, after=-1) == []
    assert client.files.content(expiring.id).content == jsonl([request_line(1)])

    assert sweep(data_dir, expiring.expires_at, after=1) == [expiring.id]
    with pytest.raises(openai.NotFoundError):
        client.files.retrieve(expiring.id)
    with pytest.raises(openai.NotFoundError):
        client.files.content(expiring.id)
    with pytest.raises(openai.NotFoundError):  # as a deleted one: deleting it again
        client.files.delete(expiring.id)
    assert not on_disk.exists()  # its bytes are gone from the data directory
    assert [f.id for f in client.files.list()] == [kept.id]

    assert sweep(data_dir, kept.expires_at, after=-1) == []
    assert client.files.content(kept.id).content == jsonl([request_line(2)])
    assert sweep(data_dir, kept.expires_at, after=1) == [kept.id]


def test_a_bad_expires_after_is_refused_naming_the_field_and_what_it_allows(client):
    good = client.files.create(file=("good.jsonl", REFUSED), purpose="batch")
    mistakes = [
        ({"anchor": "last_active_at", "seconds": 3600}, "expires_after[anchor]", "created_at"),
        ({"anchor": "created_at", "seconds": 60}, "expires_after[seconds]", "3600"),
        ({"anchor": "created_at", "seconds": 2_592_001}, "expires_after[seconds]", "2592000"),
        ({"anchor": "created_at", "seconds": "an hour"}, "expires_after[seconds]", "3600"),
        ({"seconds": 3600}, "expires_after[anchor]", "created_at"),
        ({"anchor": "created_at"}, "expires_after[seconds]", "2592000"),
    ]
    for expires_after, param, allowed in mistakes:
        with pytest.raises(openai.BadRequestError) as caught:
            client.files.create(
                file=("a.jsonl", REFUSED), purpose="batch", expires_after=expires_after
            )
        error = caught.value.body
        assert (error["param"], error["code"]) == (param, "invalid_value"), expires_after
        assert allowed in error["message"], error["message"]
    assert [f.id for f in client.files.list()] == [good.id]  # nothing refused was kept

    for output_expires_after, param in [
        ({"anchor": "completed_at", "seconds": 3600}, "output_expires_after.anchor"),
        ({"anchor": "created_at", "seconds": 3599}, "output_expires_after.seconds"),
    ]:
        with pytest.raises(openai.BadRequestError) as caught:
            client.batches.create(
                input_file_id=good.id,
                endpoint="/v1/videos",
                completion_window="24h",
                output_expires_after=output_expires_after,
            )
        assert caught.value.body["param"] == param
    assert client.batches.list().data == []  # nor any batch


def test_a_batchs_output_files_expire_as_it_asked_and_without_asking_never(client, live):
    uploaded = client.files.create(file=("one.jsonl", REFUSED), purpose="batch")
    asked = client.batches.create(
        input_file_id=uploaded.id,
        endpoint="/v1/videos",
        completion_window="24h",
        output_expires_after={"anchor": "created_at", "seconds": 7200},
    )
    assert asked.status == "completed" and asked.error_file_id is not None  # refused: ended
    written = client.files.retrieve(asked.error_file_id)
    assert written.purpose == "batch_output"
    assert written.expires_at == written.created_at + 7200  # anchored at the file's creation
    unasked = client.batches.create(
        input_file_id=uploaded.id, endpoint="/v1/videos", completion_window="24h"
    )
    assert client.files.retrieve(unasked.error_file_id).expires_at is None

    assert sweep(live[1], written.expires_at, after=1) == [asked.error_file_id]
    with pytest.raises(openai.NotFoundError):
        client.files.content(asked.error_file_id)
    again = client.batches.retrieve(asked.id)  # the batch still names it, as after DELETE
    assert (again.status, again.error_file_id) == ("completed", asked.error_file_id)
    kept = client.files.content(unasked.error_file_id).text.splitlines()
    assert [json.loads(line)["custom_id"] for line in kept] == ["shot-1"]


def test_the_input_of_a_batch_in_progress_outlives_its_expiry_until_the_batch_ends(client, live):
    data_dir = live[1]
    uploaded = client.files.create(
        file=("two.jsonl", jsonl([request_line(1), request_line(2)])),
        purpose="batch",
        expires_after=HOUR,
    )
    batch = client.batches.create(
        input_file_id=uploaded.id, endpoint="/v1/videos", completion_window="24h"
    )
    assert batch.status == "in_progress"  # no worker: its videos stay queued

    assert sweep(data_dir, uploaded.expires_at, after=60) == []
    assert client.files.retrieve(uploaded.id).id == uploaded.id  # kept while the batch runs
    assert client.batches.retrieve(batch.id).request_counts.total == 2

    ended = client.batches.cancel(batch.id)
    assert ended.status == "cancelled"
    assert sweep(data_dir, uploaded.expires_at, after=120) == [uploaded.id]  # then swept
    with pytest.raises(openai.NotFoundError):
        client.files.content(uploaded.id)
    assert not (data_dir / "files" / f"{uploaded.id}.jsonl").exists()
    assert client.files.retrieve(ended.error_file_id).expires_at is None  # never expires
