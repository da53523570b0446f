"""What the tests that run a real server share: a free port on loopback, the API served
from a thread until the test is done, and a worker that renders with the run's engine."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import uvicorn
from fastapi import FastAPI
from sqlalchemy.orm import Session, sessionmaker

from cinegen.api.app import server_config
from cinegen.config import Settings
from cinegen.engine.engine import Engine
from cinegen.jobs.worker import Worker


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def serving(app: FastAPI, settings: Settings) -> Iterator[str]:
    """``app`` served on a free loopback port while the block runs; its base URL."""
    server = uvicorn.Server(server_config(app, settings, host="127.0.0.1", port=free_port()))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        assert time.monotonic() < deadline, "the server did not start"
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{server.config.port}"
    finally:
        server.should_exit = True
        thread.join(timeout=30)


def worker_sharing(engine: Engine, settings: Settings, sessions: sessionmaker[Session]) -> Worker:
    """A worker that renders with the run's ``engine`` (models built once) but writes files
    under ``settings``, as `cinegen serve` does: one data dir, one signer."""
    worker_engine = Engine(settings)
    worker_engine._loaded = engine._loaded
    return Worker.configured(settings, sessions, worker_engine)
