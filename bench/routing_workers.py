"""``bench/routing.py --render``: a short day through N real workers that render.

Each worker is ``jobs.worker.Worker`` as ``cinegen worker`` runs it (beats, claims, the
engine's loads, renders, marks, H.264, the task's end), in a thread with an engine of its
own that keeps one model loaded; they share a SQLite store. The day holds only the models
this CPU can render, the embedded model and its twins, with their real load and render
times; its artists keep the workers about 70% busy and one account floods at its start.
The routing's bounds (``max_wait_s``, ``share_window_s``) are scaled by ``speed``: the
full day's mean render over this day's, so that a bound holds as many renders as it would.

Trap: the renders are 64x64, 16 frames, where loading a twin takes about as long as a
render; on a GPU fleet a load is worth many renders, so the loads saved count for more
there than here.
"""

from __future__ import annotations

import random
import tempfile
import threading
import time
from collections.abc import Mapping
from dataclasses import replace
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import torch
from sqlalchemy import select

from cinegen.config import Settings
from cinegen.engine.engine import Engine
from cinegen.jobs.queue import QueuePolicy, submit
from cinegen.jobs.routing import Demand, Routing, Waiting
from cinegen.jobs.worker import Worker
from cinegen.store.db import open_database
from cinegen.store.keys import create_key
from cinegen.store.models import Task

SPEC = {"prompt": "a red circle moving right", "width": 64, "height": 64, "fps": 8,
        "n_frames": 16, "seed": 1}  # fmt: skip  # as routing.measured renders
IDLE_S = 0.05  # a worker that found nothing waits this long before claiming again


class CountingEngine(Engine):
    """An engine that counts the models it loads."""

    def __init__(self, settings: Settings) -> None:
        super().__init__(settings)
        self.loads = 0

    def backend(self, model_id: str, on_progress: Any = None) -> Any:
        if model_id not in self.loaded:
            self.loads += 1
        return super().backend(model_id, on_progress)


def short_day(mix: Mapping[str, float], render_s: float, *, workers: int, accounts: int,
              tasks: int, flood: int, seed: int, start: datetime) -> list[Waiting]:  # fmt: skip
    """``tasks`` arrivals from ``accounts`` artists (Poisson, models drawn from ``mix``,
    the fleet ~70% busy at ``render_s`` a render), and ``flood`` more from one account in
    the first tenth of the day, oldest first."""
    draw = random.Random(seed)
    gap = accounts * render_s / (0.7 * workers)  # each artist's mean gap
    arrivals: list[tuple[float, str]] = []
    clocks = [draw.expovariate(1 / gap) for _ in range(accounts)]
    while len(arrivals) < tasks:
        a = min(range(accounts), key=clocks.__getitem__)
        arrivals.append((clocks[a], f"artist{a}"))
        clocks[a] += draw.expovariate(1 / gap)
    span = arrivals[-1][0]
    arrivals += [(draw.uniform(0, span / 10), "flood") for _ in range(flood)]
    arrivals.sort()
    models, shares = zip(*mix.items(), strict=True)
    when = [start + timedelta(seconds=at) for at, _ in arrivals]
    drawn = [Demand(draw.choices(models, shares)[0]) for _ in arrivals]
    return [
        Waiting(f"t{n:05d}", account, "artist", when[n], drawn[n])
        for n, (_, account) in enumerate(arrivals)
    ]


def replay_workers(tasks: list[Waiting], *, workers: int, routing: Routing, speed: float,
                   start: datetime, render_s: float) -> dict[str, Any]:  # fmt: skip
    """``tasks`` through a fresh store and ``workers`` rendering workers; waits in wall
    seconds, delays counted in renders of ``render_s``."""
    torch.set_num_threads(1)  # one core a worker, as one GPU a worker
    scaled = replace(routing, max_wait_s=routing.max_wait_s / speed,
                     share_window_s=routing.share_window_s / speed)  # fmt: skip
    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(data_dir=Path(tmp), moderate_outputs=False)
        sessions = open_database(settings.data_dir)
        policy = QueuePolicy(lease_seconds=3600, routing=scaled)
        crew = [Worker(sessions, settings.data_dir, CountingEngine(settings), policy,
                       name=f"w{i}") for i in range(workers)]  # fmt: skip
        stop = threading.Event()
        threads = [threading.Thread(target=w.run, args=(stop, IDLE_S)) for w in crew]
        for thread in threads:
            thread.start()
        ids: dict[str, str] = {}  # queue task id -> the day's task id
        try:
            _feed(sessions, tasks, start, ids)
            while not _all_ended(sessions, len(tasks)):
                if not any(thread.is_alive() for thread in threads):
                    raise RuntimeError("every worker stopped before the queue was empty")
                time.sleep(0.2)
        finally:
            stop.set()
            for thread in threads:
                thread.join()
        with sessions() as session:
            rows = session.execute(select(Task.id, Task.created_at, Task.started_at)).all()
    return {
        "loads": sum(w.engine.loads for w in crew),  # type: ignore[attr-defined]
        "waits": {ids[i]: (began - made).total_seconds() for i, made, began in rows},
        "longest_render_s": render_s,
    }


def _feed(sessions: Any, tasks: list[Waiting], start: datetime, ids: dict[str, str]) -> None:
    """Submit each task at its arrival, in wall-clock seconds from now."""
    began = time.monotonic()
    with sessions() as session:
        accounts = {a: create_key(session, a).key.account_id for a in {t.account_id for t in tasks}}
        for task in tasks:
            due = (task.created_at - start).total_seconds()
            time.sleep(max(0.0, due - (time.monotonic() - began)))
            spec = {**SPEC, "model": task.demand.model}
            ids[submit(session, accounts[task.account_id], spec).id] = task.id


def _all_ended(sessions: Any, total: int) -> bool:
    with sessions() as session:
        states = session.scalars(select(Task.state)).all()
    if any(s.value == "failed" for s in states):
        raise RuntimeError("a render failed: the replay's figures would not be a day's")
    return sum(s.terminal for s in states) >= total
