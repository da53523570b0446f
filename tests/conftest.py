"""Shared fixtures: an engine over tiny random-weight models, files in a temp folder."""

from __future__ import annotations

import numpy as np
import pytest

from cinegen.config import Settings
from cinegen.engine.engine import Engine


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


@pytest.fixture
def sessions(tmp_path):  # type: ignore[no-untyped-def]
    """A fresh, migrated SQLite database in a temporary data directory."""
    from cinegen.store.db import open_database

    return open_database(tmp_path / "data")
