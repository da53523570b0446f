"""What a claim reads from the database (``queue.claim`` ranks it with ``routing.route``
and moves the task): the waiting tasks, what each account was served lately, and, by
dialect, which of the ranked tasks to try to move.

On PostgreSQL the best-ranked task that is still queued is locked with ``FOR UPDATE SKIP
LOCKED``: rival claimers never wait for each other's rows, each takes the best one nobody
holds. SQLite has one writer at a time: the claim tries each ranked task in turn with a
compare-and-set (``UPDATE … WHERE state = 'queued'``).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from sqlalchemy import case, func, or_, select
from sqlalchemy.orm import Session

from cinegen.jobs.routing import Routing, Waiting
from cinegen.store.access import suspension
from cinegen.store.models import Account, Role, Task, TaskState

CANDIDATES = 1000  # queued tasks a claim ranks, oldest first (the queue is capped far below)


def waiting(session: Session, policy: Routing) -> list[Waiting]:
    """The queued tasks a claim may take (only admins' while access is suspended)."""
    query = (
        select(Task.id, Task.account_id, Account.role, Task.created_at, Task.spec)
        .join(Account, Account.id == Task.account_id)
        .where(Task.state == TaskState.queued)
    )
    if suspension(session) is not None:
        query = query.where(Account.role == Role.admin)
    rows = session.execute(query.order_by(Task.created_at, Task.id).limit(CANDIDATES))
    return [
        Waiting(
            id=task_id,
            account_id=account_id,
            role=str(role),
            created_at=created_at,
            demand=policy.sizer.demand(spec),
        )
        for task_id, account_id, role, created_at, spec in rows
    ]


def served(session: Session, since: datetime) -> dict[str, int]:
    """Per account: its tasks running, or started or finished at ``since`` or later."""
    lately = or_(
        Task.state == TaskState.running, Task.started_at >= since, Task.finished_at >= since
    )
    rows = session.execute(
        select(Task.account_id, func.count())
        .where(Task.started_at.is_not(None), lately)
        .group_by(Task.account_id)
    )
    return {account: int(n) for account, n in rows}


def in_rank_order(session: Session, ranked: list[str]) -> list[str]:
    """Compare-and-set: every ranked task, best first, until one moves."""
    return ranked


def skip_locked(session: Session, ranked: list[str]) -> list[str]:
    """The best-ranked task still queued that no rival holds, now locked by this claim
    (none if rivals hold or took them all)."""
    order = case({task_id: rank for rank, task_id in enumerate(ranked)}, value=Task.id)
    task_id = session.scalar(
        select(Task.id)
        .where(Task.id.in_(ranked), Task.state == TaskState.queued)
        .order_by(order)
        .limit(1)
        .with_for_update(skip_locked=True)
    )
    return [] if task_id is None else [str(task_id)]


# Which ranked tasks a claim tries to move, by database dialect (the rest: in_rank_order).
PICK: dict[str, Callable[[Session, list[str]], list[str]]] = {"postgresql": skip_locked}
