"""A real server on loopback with a worker beside it, sharing one temporary database."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
import uvicorn
from sqlalchemy.orm import Session, sessionmaker

from cinegen.api.app import create_app, server_config
from cinegen.config import Settings
from cinegen.engine.engine import Engine
from cinegen.jobs.worker import Worker
from cinegen.store.db import open_database
from cinegen.store.keys import create_key

from ..ports import free_port


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
    server = uvicorn.Server(server_config(app, settings, host="127.0.0.1", port=free_port()))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        assert time.monotonic() < deadline, "the server did not start"
        time.sleep(0.05)
    stop = threading.Event()
    # The worker renders with the session's engine (models built once) but writes files
    # under this service's settings, as `cinegen serve` does: one data dir, one signer.
    worker_engine = Engine(settings)
    worker_engine._loaded = engine._loaded
    worker = Worker.configured(settings, sessions, worker_engine)
    worker_thread = threading.Thread(target=worker.run, args=(stop, 0.05), daemon=True)
    worker_thread.start()
    yield Service(f"http://127.0.0.1:{server.config.port}", settings, sessions, data_dir, stop)
    stop.set()
    worker_thread.join(timeout=60)
    server.should_exit = True
    thread.join(timeout=30)
