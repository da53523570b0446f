"""SIGKILL the worker, then the API, mid-generation: after a restart nothing is lost; a task
whose every attempt is killed ends interrupted and leaves no file."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select

from cinegen.config import Settings
from cinegen.jobs.assets import sweep_leftovers, task_folder
from cinegen.jobs.queue import INTERRUPTED, submit
from cinegen.jobs.worker import Worker
from cinegen.media.encode import probe
from cinegen.store.db import open_database
from cinegen.store.keys import create_key
from cinegen.store.models import Task, TaskState, utcnow

from ..servers import free_port

pytestmark = pytest.mark.slow  # kills real server and worker processes

PAYLOAD = {"prompt": "a white star bouncing over the ocean", "n_frames": 60, "width": 480,
           "height": 270, "n_variants": 2, "model": "wan-tiny-random", "seed": 9}  # fmt: skip


def _start(args: list[str], env: dict[str, str]) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "cinegen", *args],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def _wait_for(condition, timeout: float, what: str):  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


def _children(pid: int) -> list[int]:
    text = Path(f"/proc/{pid}/task/{pid}/children").read_text()
    return [int(p) for p in text.split()]


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except FileNotFoundError:
        return False
    return state != "Z"


def _api_up(url: str) -> bool:
    try:
        return httpx.get(f"{url}/healthz", timeout=1).status_code == 200
    except httpx.HTTPError:
        return False


def test_killed_worker_and_api_lose_no_task_and_leave_no_half_file(tmp_path):
    data_dir = tmp_path / "data"
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "CINEGEN_DATA_DIR": str(data_dir),
           "CINEGEN_TASK_LEASE_SECONDS": "2"}  # fmt: skip
    sessions = open_database(data_dir)
    with sessions() as session:
        key = create_key(session, "crash").secret
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    api = _start(["serve", "--port", str(port), "--workers", "0"], env)
    worker = _start(["worker"], env)
    try:
        _wait_for(lambda: _api_up(url), 60, "the API")
        auth = {"Authorization": f"Bearer {key}"}
        ids = [
            httpx.post(f"{url}/backend/video_gen", json=PAYLOAD, headers=auth).json()["id"]
            for _ in range(3)
        ]

        def running() -> str | None:
            with sessions() as session:
                task = session.scalar(
                    select(Task).where(Task.state == TaskState.running, Task.progress > 0.1)
                )
                return task.id if task else None

        interrupted = _wait_for(running, 120, "a task to be mid-generation")
        worker.send_signal(signal.SIGKILL)
        api.send_signal(signal.SIGKILL)
        worker.wait()
        api.wait()

        api = _start(["serve", "--port", str(port), "--workers", "1"], env)
        _wait_for(lambda: _api_up(url), 60, "the restarted API")

        def all_done() -> bool:
            answer = httpx.get(f"{url}/backend/video_gen", params={"limit": 10}, headers=auth)
            states = {t["id"]: t["status"] for t in answer.json()["task_responses"]}
            return all(states.get(i) in ("succeeded", "failed", "cancelled") for i in ids)

        _wait_for(all_done, 240, "every task to finish after the restart")
        spawned = _children(api.pid)
        assert spawned, "serve --workers 1 started no worker process"
        api.kill()  # the workers it started must not live on as orphans
        _wait_for(lambda: not any(_alive(pid) for pid in spawned), 30, "orphaned workers to exit")
    finally:
        for process in (api, worker):
            process.kill()
            process.wait()

    with sessions() as session:
        tasks = {t.id: t for t in session.scalars(select(Task))}
        for task_id in ids:
            task = tasks[task_id]
            assert task.state is TaskState.succeeded, (task.error_code, task.error_message)
            for generation in task.generations:
                info = probe(data_dir / generation.files["video"])
                assert (info.width, info.height, info.n_frames) == (480, 270, 60)
        assert tasks[interrupted].attempts == 2  # taken back from the killed worker, redone
    leftovers = [p for p in (data_dir / "assets").rglob("*") if ".tmp-" in p.name]
    assert leftovers == []


def _files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*") if p.is_file())


def test_a_task_killed_while_writing_on_every_attempt_ends_interrupted_with_no_file(
    tmp_path, engine
):
    data_dir = tmp_path / "data"
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "CINEGEN_DATA_DIR": str(data_dir),
           "CINEGEN_TASK_LEASE_SECONDS": "1", "CINEGEN_TASK_MAX_ATTEMPTS": "2"}  # fmt: skip
    sessions = open_database(data_dir)
    with sessions() as session:
        account = create_key(session, "doomed").key.account_id
        spec = {**PAYLOAD, "n_variants": 1}
        task_id = submit(session, account, spec).id
    folder = task_folder(data_dir, task_id)

    earlier: list[Path] = []
    for attempt in (1, 2):
        # Killed as soon as its unmarked master is written: the thumbnail, the marked video
        # and their temp files are under way.
        def writing(earlier: list[Path] = earlier) -> list[Path]:
            return [p for p in _files(folder) if p.name == "master-1.mp4" and p not in earlier]

        worker = _start(["worker"], env)
        try:
            _wait_for(writing, 120, f"attempt {attempt} to be writing")
            worker.send_signal(signal.SIGKILL)
        finally:
            worker.kill()
            worker.wait()
        left = _files(folder)
        assert any(p.name == "master-1.mp4" for p in left), left
        assert not set(earlier) & set(left)  # each attempt starts by clearing the last one's
        earlier = left
    with sessions() as session:
        assert session.get(Task, task_id).attempts == 2

    settings = Settings(data_dir=data_dir, task_lease_seconds=1, task_max_attempts=2)
    next_worker = Worker.configured(settings, sessions, engine)  # the next one to come by

    def ended() -> Task | None:
        next_worker.run_once()
        with sessions() as session:
            task = session.get(Task, task_id)
            return task if task.state.terminal else None

    task = _wait_for(ended, 30, "the lease to run out")
    assert task.state is TaskState.failed and task.error_code == INTERRUPTED
    assert not folder.exists()
    with sessions() as session:
        later = utcnow() + timedelta(hours=1)
        assert sweep_leftovers(session, data_dir, timedelta(seconds=1), now=later) == []
    assert _files(data_dir / "assets") == []
