"""A miniature cinegen-tiny, trained for a few steps once per test session."""

from __future__ import annotations

from pathlib import Path

import pytest

from cinegen.models.tiny.network import TinyConfig
from cinegen.models.tiny.train_settings import TrainSettings

MINI = TinyConfig(ae_width=16, width=64, depth=2, heads=2)


def mini_settings(workdir: Path, **changes: object) -> TrainSettings:
    base: dict[str, object] = dict(
        workdir=workdir,
        config=MINI,
        ae_steps=30,
        ae_batch=16,
        detail_steps=20,
        clips=48,
        dit_steps=40,
        dit_batch=8,
        lr=2e-3,
        warmup=5,
        checkpoint_every=10,
    )
    return TrainSettings(**{**base, **changes})  # type: ignore[arg-type]


@pytest.fixture(scope="session")
def mini_bundle(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from cinegen.models.tiny.train import train

    workdir = tmp_path_factory.mktemp("mini-train")
    train(mini_settings(workdir), lambda *a: None, out=workdir / "bundle")
    return workdir / "bundle"
