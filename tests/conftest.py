"""Shared fixtures: an engine over tiny random-weight models, files in a temp folder."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator

import numpy as np
import pytest

from cinegen import spec
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


@pytest.fixture(autouse=True)
def _renders_fix_their_seed(
    request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch
) -> Iterator[None]:
    """Fail a test that lets a seed be drawn (a render, or a task that will render, without
    ``seed``): its output changes run to run, and output moderation or a pixel check then
    fails it at random. A test about drawn seeds says so with ``@pytest.mark.draws_seed``."""
    drawn: list[int] = []

    def watched() -> int:
        drawn.append(real())
        return drawn[-1]

    real = spec.new_seed
    for name, module in list(sys.modules.items()):  # each module that imported it by name
        if name.startswith("cinegen") and getattr(module, "new_seed", None) is real:
            monkeypatch.setattr(module, "new_seed", watched)
    yield
    if drawn and request.node.get_closest_marker("draws_seed") is None:
        pytest.fail(f"drew {len(drawn)} random seed(s): give every rendering request a seed")


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
