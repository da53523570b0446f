"""`cinegen batch` as an operator runs it: a JSONL file queued as one batch under a key, and
a file with a bad line refused whole, naming the line and what it should be."""

from __future__ import annotations

import json
import threading
from datetime import timedelta
from pathlib import Path

import pytest

from cinegen.config import Settings
from cinegen.store.db import open_database
from cinegen.store.keys import create_key
from cinegen.store.models import Batch, StoredFile, Task, TaskState

from .servers import worker_sharing
from .test_cli import cinegen

pytestmark = pytest.mark.slow  # runs the command in subprocesses

BODY = {"model": "wan-tiny-random", "size": "96x96", "seconds": "0.5", "seed": 1}


def _line(n: int, **change: object) -> str:
    line = {"custom_id": f"shot-{n}", "method": "POST", "url": "/v1/videos",
            "body": {**BODY, "prompt": f"a red circle, take {n}"}, **change}  # fmt: skip
    return json.dumps(line) + "\n"


def test_a_file_becomes_a_batch_of_queued_videos_and_a_bad_line_is_named(tmp_path):
    env = {"CINEGEN_DATA_DIR": str(tmp_path / "data")}
    with open_database(tmp_path / "data")() as session:
        key_id = create_key(session, "shell").key.id
    shots = tmp_path / "shots.jsonl"
    shots.write_text(_line(1) + _line(2))
    queued = cinegen("batch", str(shots), "--key", key_id, "--no-wait", "--json", cwd=tmp_path,
                     **env)  # fmt: skip
    assert queued.returncode == 0, queued.stderr
    batch = json.loads(queued.stdout)
    assert batch["status"] == "in_progress" and batch["request_counts"]["total"] == 2
    with open_database(tmp_path / "data")() as session:
        tasks = session.query(Task).all()
    assert [t.state for t in tasks] == [TaskState.queued] * 2  # no worker here: they wait

    shots.write_text(_line(1) + _line(2, url="/v1/images"))
    refused = cinegen("batch", str(shots), "--key", key_id, cwd=tmp_path, **env)
    assert refused.returncode == 2
    assert "line 2" in refused.stderr and "/v1/videos" in refused.stderr
    unknown = cinegen("batch", str(shots), "--key", "key_nope", cwd=tmp_path, **env)
    assert unknown.returncode == 2 and "keys list" in unknown.stderr


def test_it_follows_the_batch_to_its_end_and_says_where_the_lines_are(tmp_path, engine):
    settings = Settings(data_dir=tmp_path / "data")
    sessions = open_database(settings.data_dir)
    with sessions() as session:
        key_id = create_key(session, "shell").key.id
    stop = threading.Event()  # a worker on the same database, as `cinegen serve` runs one
    worker = threading.Thread(
        target=worker_sharing(engine, settings, sessions).run, args=(stop, 0.05), daemon=True
    )
    worker.start()
    shots = tmp_path / "shots.jsonl"
    shots.write_text(_line(1) + _line(2, body={**BODY, "prompt": "Barack Obama dancing"}))
    try:
        done = cinegen("batch", str(shots), "--key", key_id, cwd=tmp_path,
                       CINEGEN_DATA_DIR=str(settings.data_dir))  # fmt: skip
    finally:
        stop.set()
        worker.join(timeout=60)
    assert done.returncode == 0, done.stderr
    assert "completed: 1 of 2 completed, 1 failed" in done.stderr
    paths = dict(line.split(": ", 1) for line in done.stdout.splitlines())
    (output,) = Path(paths["output"]).read_text().splitlines()
    assert json.loads(output)["response"]["body"]["status"] == "completed"
    (refused,) = Path(paths["errors"]).read_text().splitlines()
    assert json.loads(refused)["custom_id"] == "shot-2"


def test_its_files_expire_when_asked_and_a_bad_duration_stores_nothing(tmp_path):
    env = {"CINEGEN_DATA_DIR": str(tmp_path / "data")}
    with open_database(tmp_path / "data")() as session:
        key_id = create_key(session, "shell").key.id
    shots = tmp_path / "shots.jsonl"
    shots.write_text(_line(1))
    for flag, value in (("--expires-after", "45m"), ("--output-expires-after", "31d"),
                        ("--expires-after", "soon")):  # fmt: skip
        refused = cinegen("batch", str(shots), "--key", key_id, flag, value, cwd=tmp_path, **env)
        assert refused.returncode == 2
        assert flag in refused.stderr and "1h" in refused.stderr and "30d" in refused.stderr
    with open_database(tmp_path / "data")() as session:
        assert session.query(StoredFile).count() == 0 and session.query(Batch).count() == 0

    queued = cinegen("batch", str(shots), "--key", key_id, "--no-wait", "--json",
                     "--expires-after", "7d", "--output-expires-after", "12h", cwd=tmp_path,
                     **env)  # fmt: skip
    assert queued.returncode == 0, queued.stderr
    with open_database(tmp_path / "data")() as session:
        (stored,) = session.query(StoredFile).all()
        (batch,) = session.query(Batch).all()
        assert stored.expires_at - stored.created_at == timedelta(days=7)
        assert batch.output_expires_seconds == 12 * 3600
