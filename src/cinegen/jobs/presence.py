"""Worker rows: each running worker says what it has loaded, how much device memory it can
give a task and that it is alive, so that claims route (``routing.py``) and
``cinegen admin workers`` can list them. Written at start and at each beat, deleted at exit;
a worker killed outright leaves a row whose beats stopped, listed as silent, and removed
after ``FORGET_AFTER``."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from cinegen.jobs.routing import Profile
from cinegen.store.models import WorkerRow, utcnow

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
    row.capacity_bytes = news.profile.capacity
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
