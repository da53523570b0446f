"""Workers as an operator sees them: each keeps a row while it runs (its models, memory,
beats) that `cinegen admin workers` lists, and a worker told to stop hands its task back
to the queue at the next step, then exits."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
from datetime import timedelta

import pytest
from sqlalchemy import select

from cinegen.jobs import presence
from cinegen.jobs.presence import Beat
from cinegen.jobs.queue import QueuePolicy, submit
from cinegen.jobs.routing import GiB, Profile, Routing
from cinegen.jobs.worker import Worker
from cinegen.progress import Stage
from cinegen.store.db import open_database
from cinegen.store.keys import create_key
from cinegen.store.models import Task, TaskEvent, TaskState, WorkerRow, utcnow

from ..test_cli import cinegen
from .test_worker import SPEC  # the same small render

POLICY = QueuePolicy(lease_seconds=30, routing=Routing(beat_s=0.05))


def _wait_for(condition, timeout_s: float = 60.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.02)


def _ago(line: str) -> int:
    found = re.search(r"(\d+) s ago", line)
    assert found, line
    return int(found.group(1))


def _rows(sessions) -> list[WorkerRow]:
    with sessions() as session:
        return presence.listing(session)


class StopsAtFirstStep:
    """The shared test engine, with the worker's stop event set (as SIGTERM sets it) once
    the first denoising step is done."""

    def __init__(self, engine, stop: threading.Event) -> None:
        self._engine, self._stop = engine, stop

    def __getattr__(self, name: str):
        return getattr(self._engine, name)

    def run(self, request, on_progress=None, *args, **kwargs):
        def progress(stage: Stage, done: int, total: int) -> None:
            if stage is Stage.denoise and done >= 1:
                self._stop.set()
            if on_progress is not None:
                on_progress(stage, done, total)

        return self._engine.run(request, progress, *args, **kwargs)


def test_a_worker_keeps_a_row_while_it_runs_and_removes_it_on_exit(sessions, engine, tmp_path):
    worker = Worker(sessions, tmp_path / "data", engine, POLICY, capacity=24 * GiB)
    stop = threading.Event()
    thread = threading.Thread(target=worker.run, args=(stop, 0.02))
    thread.start()
    _wait_for(lambda: len(_rows(sessions)) == 1)
    first = _rows(sessions)[0]
    assert (first.name, first.capacity_bytes, first.task_id) == (worker.name, 24 * GiB, None)
    _wait_for(lambda: _rows(sessions)[0].last_beat > first.last_beat)  # it beats
    stop.set()
    thread.join(timeout=30)
    assert not thread.is_alive() and _rows(sessions) == []


@pytest.mark.slow  # renders
def test_a_stopped_worker_hands_its_task_back_after_the_step_and_exits(sessions, engine, tmp_path):
    with sessions() as session:
        task_id = submit(session, create_key(session, "t").key.account_id, SPEC).id
    stop = threading.Event()
    worker = Worker(sessions, tmp_path / "data", StopsAtFirstStep(engine, stop), POLICY)
    worker.run(stop, idle_s=0.02)  # returns: the worker exits once its task is handed back
    with sessions() as session:
        task = session.get(Task, task_id)
        events = session.scalars(select(TaskEvent).where(TaskEvent.task_id == task_id)).all()
    assert task.state is TaskState.queued and task.attempts == 0 and task.lease_owner is None
    assert task.error_code is None and 0 < task.progress < 0.85  # stopped while denoising
    assert events[-1].message == f"handed back by {worker.name}: its worker is stopping"
    assert not (tmp_path / "data" / "assets" / task_id).exists()
    assert _rows(sessions) == []
    successor = Worker(sessions, tmp_path / "data", engine, POLICY)
    assert successor.run_once()
    with sessions() as session:
        done = session.get(Task, task_id)
    assert done.state is TaskState.succeeded and done.attempts == 1


@pytest.mark.slow  # runs the command in a subprocess
def test_admin_workers_lists_each_worker_its_models_and_last_beat(tmp_path):
    sessions = open_database(tmp_path / "data")
    now = utcnow()
    with sessions() as session:
        gpu = Profile("gpu-box:41:a1", models=("wan", "ltx-video"), capacity=80 * GiB)
        presence.beat(session, Beat(gpu, device="cuda", free_bytes=40 * GiB, task_id="task_1"))
        presence.beat(session, Beat(Profile("cpu-box:7:b2")), now=now - timedelta(seconds=5))
        gone = Profile("old-box:9:c3", models=("mochi",))
        presence.beat(session, Beat(gone), now=now - timedelta(minutes=10))
    env = {"CINEGEN_DATA_DIR": str(tmp_path / "data")}
    listed = cinegen("admin", "workers", cwd=tmp_path, **env)
    assert listed.returncode == 0, listed.stderr
    rows = [line.strip("│ ") for line in listed.stdout.splitlines() if "-box:" in line]
    lines = {row.split()[0]: row for row in rows}
    assert list(lines) == ["gpu-box:41:a1", "cpu-box:7:b2", "old-box:9:c3"]  # latest beat first
    assert "working on task_1" in lines["gpu-box:41:a1"]
    assert "wan, ltx-video" in lines["gpu-box:41:a1"] and "40.0 / 80.0" in lines["gpu-box:41:a1"]
    assert "idle" in lines["cpu-box:7:b2"] and 5 <= _ago(lines["cpu-box:7:b2"]) < 300
    assert re.search(r"silent 6\d\d s", lines["old-box:9:c3"]) and "mochi" in lines["old-box:9:c3"]
    records = cinegen("admin", "workers", "--json", cwd=tmp_path, **env).stdout.splitlines()
    first = json.loads(records[0])
    assert first["models"] == ["wan", "ltx-video"] and first["state"] == "working on task_1"


@pytest.mark.slow  # a worker process renders
def test_cinegen_worker_on_sigterm_hands_its_task_back_and_exits(tmp_path):
    data = tmp_path / "data"
    sessions = open_database(data)
    with sessions() as session:
        task_id = submit(session, create_key(session, "t").key.account_id, SPEC).id
    env = {**os.environ, "CINEGEN_DATA_DIR": str(data), "HF_HUB_OFFLINE": "1"}
    worker = subprocess.Popen(
        [sys.executable, "-m", "cinegen", "worker"],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        _wait_for(lambda: _stage(sessions, task_id) == Stage.denoise, timeout_s=120)
        worker.send_signal(signal.SIGTERM)
        output, _ = worker.communicate(timeout=120)
    finally:
        worker.kill()
    assert worker.returncode == 0, output
    with sessions() as session:
        task = session.get(Task, task_id)
    assert task.state is TaskState.queued and task.attempts == 0, (task.state, output)
    assert _rows(sessions) == []


def _stage(sessions, task_id: str) -> str:
    with sessions() as session:
        return session.get(Task, task_id).stage
