"""``bench/routing.py --real``: the start of the same day through the real claim path.

N claimer threads, each a worker as far as the queue can tell: before each claim it beats
its row (``presence.beat``, with the model it has loaded), claims with ``queue.claim`` on a
SQLite store (``claims.py``'s reads, ``routing.route``'s ranking, the compare-and-set
move), "renders" by sleeping the model's render time (and its load time when it switches
model) divided by the speed, and finishes the task. A feeder thread submits each task
(``queue.submit``) at its arrival time, compressed the same way; the routing's bounds
(``max_wait_s``, ``share_window_s``) are divided by the speed too.

Trap: nothing is rendered. The claims, the SQL and the threads are real; the GPU is a
sleep, and a claim's own time counts in the waits multiplied by the speed.
"""

from __future__ import annotations

import tempfile
import threading
import time
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from cinegen.jobs import presence
from cinegen.jobs.presence import Beat
from cinegen.jobs.queue import QueuePolicy, claim, finish, submit
from cinegen.jobs.routing import Profile, Routing, Waiting
from cinegen.store.db import open_database
from cinegen.store.keys import create_key
from cinegen.store.models import Task, TaskState

IDLE_S = 0.02  # wall seconds a claimer that found nothing waits before claiming again


@dataclass
class Run:
    """One replay's shared state: the store, the clock, what the claimers did."""

    sessions: sessionmaker[Session]
    costs: Mapping[str, Any]  # model -> Cost (load_s, render_s)
    policy: QueuePolicy
    speed: float
    stop: threading.Event
    loads: Counter[str]


def replay_real(tasks: list[Waiting], costs: Mapping[str, Any], *, workers: int,
                routing: Routing, speed: float, start: datetime) -> dict[str, Any]:  # fmt: skip
    """``tasks`` through a fresh store and ``workers`` claimer threads; the same figures as
    the simulated replay, waits in the day's seconds."""
    scaled = replace(
        routing,
        max_wait_s=routing.max_wait_s / speed,
        share_window_s=routing.share_window_s / speed,
    )  # beat_s stays: a claimer beats before every claim, and 3 beats outlast any render
    with tempfile.TemporaryDirectory() as tmp:
        run = Run(
            sessions=open_database(Path(tmp)),
            costs=costs,
            policy=QueuePolicy(lease_seconds=3600, routing=scaled),
            speed=speed,
            stop=threading.Event(),
            loads=Counter(),
        )
        ids: dict[str, str] = {}  # queue task id -> the day's task id
        feeder = threading.Thread(target=_feed, args=(run, tasks, start, ids))
        claimers = [threading.Thread(target=_work, args=(run, f"w{i}")) for i in range(workers)]
        for thread in (feeder, *claimers):
            thread.start()
        feeder.join()
        while _succeeded(run) < len(tasks):
            if not any(thread.is_alive() for thread in claimers):
                raise RuntimeError("every claimer stopped before the queue was empty")
            time.sleep(0.1)
        run.stop.set()
        for thread in claimers:
            thread.join()
        with run.sessions() as session:
            rows = session.execute(select(Task.id, Task.created_at, Task.started_at)).all()
    waits = {ids[i]: (began - made).total_seconds() * speed for i, made, began in rows}
    return {
        "loads": sum(run.loads.values()),
        "waits": waits,
        "longest_render_s": max(c.render_s for c in costs.values()),
    }


def _feed(run: Run, tasks: list[Waiting], start: datetime, ids: dict[str, str]) -> None:
    """Submit each task at its arrival, on the compressed clock."""
    began = time.monotonic()
    with run.sessions() as session:
        accounts = {a: create_key(session, a).key.account_id for a in {t.account_id for t in tasks}}
        for task in tasks:
            due = (task.created_at - start).total_seconds() / run.speed
            time.sleep(max(0.0, due - (time.monotonic() - began)))
            spec = {"prompt": "a red circle moving right", "model": task.demand.model, "seed": 1}
            ids[submit(session, accounts[task.account_id], spec).id] = task.id


def _work(run: Run, name: str) -> None:
    """One worker's loop: beat, claim, load if the model differs, render, finish."""
    model: str | None = None
    with run.sessions() as session:
        while not run.stop.is_set():
            me = Profile(name, models=(model,) if model else ())
            presence.beat(session, Beat(me))
            task = claim(session, me, run.policy)
            if task is None:
                time.sleep(IDLE_S)
                continue
            wanted = task.spec["model"]
            busy = run.costs[wanted].render_s
            if wanted != model:
                run.loads[name] += 1
                model, busy = wanted, busy + run.costs[wanted].load_s
            time.sleep(busy / run.speed)
            finish(session, task.id, worker=name, state=TaskState.succeeded)


def _succeeded(run: Run) -> int:
    with run.sessions() as session:
        return (
            session.scalar(
                select(func.count()).select_from(Task).where(Task.state == TaskState.succeeded)
            )
            or 0
        )
