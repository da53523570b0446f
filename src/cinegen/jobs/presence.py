"""Worker rows: each running worker says what it has loaded, how much device memory it can
give a task and that it is alive, so that claims route (``routing.py``) and
``cinegen admin workers`` can list them. Written at start and at each beat, deleted at exit;
a worker killed outright leaves a row whose beats stopped, listed as silent, and removed
after ``FORGET_AFTER``."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from cinegen.jobs.routing import Profile
from cinegen.store.models import WorkerRow, utcnow

log = logging.getLogger(__name__)
FORGET_AFTER = timedelta(days=1)  # a silent row is listed this long, then removed


@dataclass(frozen=True)
class Beat:
    """One beat's news: the worker's profile, its device and what it is doing."""

    profile: Profile
    device: str = "cpu"
    free_bytes: int | None = None
    task_id: str | None = None
    draining: bool = False


def beat(session: Session, news: Beat, *, now: datetime | None = None) -> None:
    """Write the worker's row (made on its first beat), and forget long-silent ones."""
    now = now or utcnow()
    row = session.get(WorkerRow, news.profile.name, populate_existing=True)
    if row is None:
        row = WorkerRow(name=news.profile.name, started_at=now)
        session.add(row)
    row.models = list(news.profile.models)
    row.capacity_bytes = news.profile.most  # others read it as the most it can give
    row.device = news.device
    row.free_bytes = news.free_bytes
    row.task_id = news.task_id
    row.draining = news.draining
    row.last_beat = now
    session.execute(delete(WorkerRow).where(WorkerRow.last_beat < now - FORGET_AFTER))
    session.commit()


def leave(session: Session, name: str) -> None:
    """The worker exits: its row goes."""
    session.execute(delete(WorkerRow).where(WorkerRow.name == name))
    session.commit()


def live(session: Session, *, since: datetime) -> list[Profile]:
    """The workers that beat at ``since`` or later, as claims see them."""
    rows = session.scalars(select(WorkerRow).where(WorkerRow.last_beat >= since))
    return [Profile(r.name, tuple(r.models), r.capacity_bytes) for r in rows]


def listing(session: Session) -> list[WorkerRow]:
    """Every worker row, most recent beat first."""
    return list(session.scalars(select(WorkerRow).order_by(WorkerRow.last_beat.desc())))


class Presence:
    """A worker's beats, on a thread of their own for the worker's whole life, so that a
    long render (or a model's load) never makes it look gone: ``news`` says what to write
    at each beat. A failed beat is retried at the next one: the row is advice for routing,
    the task's lease is what keeps the task."""

    def __init__(
        self, sessions: sessionmaker[Session], news: Callable[[], Beat], every_s: float
    ) -> None:
        self.sessions, self.news, self.every_s = sessions, news, every_s
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._beat, daemon=True, name="worker-beat")
        self.name = news().profile.name

    def beat_now(self) -> None:
        try:
            with self.sessions() as session:
                beat(session, self.news())
        except SQLAlchemyError:
            log.warning("worker %s: its beat failed; trying again at the next", self.name)

    def _beat(self) -> None:
        while not self.stop.wait(self.every_s):
            self.beat_now()

    def __enter__(self) -> Presence:
        self.beat_now()
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        self.thread.join()
        try:
            with self.sessions() as session:
                leave(session, self.name)
        except SQLAlchemyError:  # its beats have stopped: it reads as silent, then goes
            log.warning("worker %s: could not remove its row", self.name)
