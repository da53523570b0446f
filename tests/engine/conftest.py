"""What the engine tests share: the tiny twins run on one thread."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import torch


@pytest.fixture(scope="module")
def one_thread() -> Iterator[None]:
    """Tiny models gain nothing from threads, and when other processes share the 2 cores,
    torch's spinning OpenMP workers made test_tiny_twins.py 5x slower (20 s vs 92 s,
    measured). Modules of tiny-twin tests use it: ``pytest.mark.usefixtures("one_thread")``."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)
