"""Shared fixtures: an engine over tiny random-weight models, files in a temp folder."""

from __future__ import annotations

import os
from collections.abc import Iterator

import numpy as np
import pytest

from cinegen.config import Settings
from cinegen.engine.engine import Engine

from .postgres_server import PostgresServer, server_programs


@pytest.fixture(scope="session", autouse=True)
def _data_dir(tmp_path_factory: pytest.TempPathFactory) -> None:
    # Where state lives when a test does not say: never the user's own data folder (the
    # C2PA signing identity is made there on first use).
    os.environ.setdefault("CINEGEN_DATA_DIR", str(tmp_path_factory.mktemp("data")))


@pytest.fixture(autouse=True)
def _offline(monkeypatch: pytest.MonkeyPatch) -> None:
    # CI has no model hub: any test that would reach for it must fail fast, not hang.
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")


@pytest.fixture(scope="session")
def engine() -> Engine:
    """One engine for the run, so each tiny model is built once and reused."""
    return Engine(Settings(default_model="ltx-video-tiny-random"))


def first_frame_image(width: int, height: int) -> np.ndarray:
    """Left half red, right half blue: a picture whose layout is easy to check."""
    image = np.zeros((height, width, 3), np.uint8)
    image[:, : width // 2] = (230, 30, 30)
    image[:, width // 2 :] = (30, 30, 230)
    return image


@pytest.fixture(scope="session")
def postgres() -> Iterator[PostgresServer]:
    """One PostgreSQL server for the run (see ``postgres_server.py``)."""
    programs = server_programs()
    if programs is None:
        message = "PostgreSQL is not installed (apt-get install postgresql)"
        if os.environ.get("REQUIRE_POSTGRES") == "1":
            pytest.fail(message)
        pytest.skip(message)
    with PostgresServer.started(programs) as server:
        yield server


@pytest.fixture(params=["sqlite", "postgresql"])
def sessions(request, tmp_path):  # type: ignore[no-untyped-def]
    """A fresh, migrated database: SQLite in a temporary data directory, or a new database
    on the test PostgreSQL server."""
    from cinegen.store.db import open_database

    url = None
    if request.param == "postgresql":
        url = request.getfixturevalue("postgres").fresh_database()
    factory = open_database(tmp_path / "data", url)
    yield factory
    factory.kw["bind"].dispose()
