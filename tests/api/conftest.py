"""A real server on loopback with a worker beside it, sharing one temporary database."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from sqlalchemy.orm import Session, sessionmaker

from cinegen.api.app import create_app
from cinegen.config import Settings
from cinegen.store.db import open_database
from cinegen.store.keys import create_key

from ..servers import serving, worker_sharing


@dataclass
class Service:
    url: str
    settings: Settings
    sessions: sessionmaker[Session]
    data_dir: Path
    worker_stop: threading.Event | None = None

    def key(self, name: str) -> str:
        with self.sessions() as session:
            return create_key(session, name).secret


def video_gen_ended(http: httpx.Client, task_id: str, timeout: float = 120) -> dict:
    """A Sora-dialect task once it has ended: a render takes seconds alone, more on a
    loaded machine."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        task = http.get(f"/backend/video_gen/{task_id}").json()
        if task["status"] not in ("queued", "running"):
            return dict(task)
        time.sleep(0.05)
    raise AssertionError(f"task {task_id} did not end in {timeout:g} s")


@pytest.fixture(scope="module")
def service_settings() -> dict[str, object]:
    """Settings a test module's service runs with beyond the defaults here (override it)."""
    return {}


@pytest.fixture(scope="module")
def service(tmp_path_factory, engine, service_settings) -> Iterator[Service]:
    data_dir = tmp_path_factory.mktemp("service")
    defaults = {"default_model": "wan-tiny-random", "max_active_tasks_per_account": 3,
                "poll_after_ms": 100}  # fmt: skip
    settings = Settings(data_dir=data_dir, **{**defaults, **service_settings})
    sessions = open_database(data_dir)
    app = create_app(settings, sessions)
    stop = threading.Event()
    worker = worker_sharing(engine, settings, sessions)
    worker_thread = threading.Thread(target=worker.run, args=(stop, 0.05), daemon=True)
    with serving(app, settings) as url:
        worker_thread.start()
        yield Service(url, settings, sessions, data_dir, stop)
        stop.set()
        worker_thread.join(timeout=60)
