"""The task queue, in the database: nothing lives only in a process's memory.

States: ``queued -> running -> succeeded | failed | cancelled`` (and ``queued -> cancelled``,
``queued -> failed`` for a task no live worker could hold). Which queued task a worker
claims is ``routing.py``'s ranking.
Every move is one conditional ``UPDATE``, checked against ``TASK_MOVES``, that writes its
``TaskEvent`` in the same transaction (``moves.py``). A running task holds a lease that the
worker extends with each progress report; ``requeue_expired`` gives the task of a worker that
stopped reporting to the next one, up to ``max_attempts``, then fails it with code
``interrupted``.

A task's ``progress`` is the highest any of its attempts reached: a retried attempt starts
its own count from zero, but what clients poll stays where the earlier attempt left it until
the new one passes it, so a progress bar never goes back (its ``stage`` says what the new
attempt is doing meanwhile).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import case, delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from cinegen.errors import CinegenError
from cinegen.jobs import claims, presence
from cinegen.jobs.moves import IllegalTransition, moved, record_event, reload
from cinegen.jobs.routing import Profile, Routing, route
from cinegen.progress import Stage
from cinegen.provenance.payload import task_mark
from cinegen.store.models import (
    Generation,
    Task,
    TaskEvent,
    TaskState,
    new_id,
    utcnow,
)

INTERRUPTED = "interrupted"
UNSERVABLE = "no_worker_can_serve"  # no live worker has the device memory its model needs
CLAIM_RETRIES = 8  # rivals taking the same candidate first, before giving up for now


class LeaseLost(CinegenError):
    """The worker no longer holds the task (taken back after its lease expired, or finished
    elsewhere): whatever it produced must be discarded, not stored."""


@dataclass(frozen=True)
class QueuePolicy:
    lease_seconds: float = 60.0  # a running task is taken back this long after its last report
    max_attempts: int = 3  # claims per task before it fails as interrupted
    routing: Routing = field(default_factory=Routing)  # which task, routing.py

    def lease_until(self, now: datetime) -> datetime:
        return now + timedelta(seconds=self.lease_seconds)


# --- submitting ----------------------------------------------------------------------------
def submit(
    session: Session,
    account_id: str,
    spec: dict[str, Any],
    *,
    idempotency_key: str | None = None,
    expires_at: datetime | None = None,
    request_sha256: str | None = None,
    key_id: str | None = None,
) -> Task:
    """Store a queued task and commit before returning: once this returns, it is durable.
    With an ``idempotency_key`` the account's earlier task under that key is returned (the
    caller compares its ``request_sha256``, kept as given, with the retried request's)."""
    if idempotency_key is not None:
        earlier = find_by_idempotency_key(session, account_id, idempotency_key)
        if earlier is not None:
            return earlier
    task_id = new_id("task")
    task = Task(
        id=task_id,
        mark=task_mark(task_id),
        account_id=account_id,
        key_id=key_id,
        spec=spec,
        state=TaskState.queued,
        progress=0.0,
        stage=TaskState.queued.value,
        idempotency_key=idempotency_key,
        request_sha256=request_sha256,
        expires_at=expires_at,
    )
    session.add(task)
    record_event(session, task)
    try:
        session.commit()
    except IntegrityError:  # a concurrent retry with the same key committed first
        session.rollback()
        earlier = find_by_idempotency_key(session, account_id, idempotency_key or "")
        if earlier is None:
            raise
        return earlier
    return task


def find_by_idempotency_key(session: Session, account_id: str, key: str) -> Task | None:
    """The account's task created under idempotency ``key``, if any."""
    return session.scalar(
        select(Task).where(Task.account_id == account_id, Task.idempotency_key == key)
    )


# --- working -------------------------------------------------------------------------------
def add_preview(session: Session, task_id: str, *, worker: str, jpeg: bytes) -> None:
    """Put a preview frame on the running task's event stream in place of the one before
    (a task keeps only its latest preview); ignored unless ``worker`` still holds the
    lease. The guard is an UPDATE, so a finish or cancel cannot slip in between."""
    held = Task.lease_owner == worker
    if not moved(session, task_id, [TaskState.running], {"stage": Task.stage}, held):
        session.rollback()
        return
    session.execute(
        delete(TaskEvent).where(TaskEvent.task_id == task_id, TaskEvent.preview.is_not(None))
    )
    record_event(session, reload(session, task_id), preview=jpeg)
    session.commit()


def claim(
    session: Session,
    worker: str | Profile,
    policy: QueuePolicy,
    *,
    on_retry: Callable[[], object] | None = None,
) -> Task | None:
    """The best queued task for ``worker`` (``routing.route``: accounts' turns, its loaded
    models, waits bounded, memory that fits), now running under its lease; None if it can
    take none. Tasks no live worker could hold fail on the way, saying why. While access is
    suspended only admins' tasks are claimed: the rest stay queued.

    Which ranked task to move is the database's (``claims.PICK``): on PostgreSQL the best
    one no rival holds, locked with ``FOR UPDATE SKIP LOCKED``; on SQLite each in rank
    order, by compare-and-set. A round whose candidates rivals took reads the queue again
    for tasks it has not tried (``on_retry`` is told)."""
    me = worker if isinstance(worker, Profile) else Profile(worker)
    tried: set[str] = set()
    for _ in range(CLAIM_RETRIES):
        now = utcnow()
        since = now - timedelta(seconds=policy.routing.gone_after_s)
        fleet = [w for w in presence.live(session, since=since) if w.name != me.name]
        found = route(
            claims.waiting(session, policy.routing),
            me=me,
            fleet=[*fleet, me],
            served=claims.served(session, now - timedelta(seconds=policy.routing.share_window_s)),
            now=now,
            routing=policy.routing,
        )
        _fail_unservable(session, found.unservable, now)
        # Trap: a candidate a rival has locked but not yet committed still reads as queued;
        # trying it again would only retry against that rival.
        fresh = [task_id for task_id in found.ranked if task_id not in tried]
        if not fresh:
            session.rollback()
            return None
        pick = claims.PICK.get(session.get_bind().dialect.name, claims.in_rank_order)
        values = _claimed(me.name, policy, now)
        for task_id in pick(session, fresh):  # the first still queued is this claim's
            if moved(session, task_id, [TaskState.queued], values):
                task = reload(session, task_id)
                record_event(session, task, f"claimed by {me.name} (attempt {task.attempts})")
                session.commit()
                return task
        session.rollback()  # rivals took every candidate first: read the queue again
        tried.update(fresh)
        if on_retry is not None:
            on_retry()
    return None


def _claimed(worker: str, policy: QueuePolicy, now: datetime) -> dict[str, Any]:
    return {
        "state": TaskState.running,
        "lease_owner": worker,
        "lease_expires_at": policy.lease_until(now),
        "attempts": Task.attempts + 1,
        "started_at": case((Task.started_at.is_(None), now), else_=Task.started_at),
        "stage": Stage.starting,
    }


def _fail_unservable(session: Session, unservable: list[tuple[str, str]], now: datetime) -> None:
    """Fail the tasks that no live worker could hold, each with its reason."""
    for task_id, message in unservable:
        values = {
            "state": TaskState.failed,
            "stage": TaskState.failed.value,
            "finished_at": now,
            "error_code": UNSERVABLE,
            "error_message": message,
        }
        if moved(session, task_id, [TaskState.queued], values):
            record_event(session, reload(session, task_id), message)
    session.commit()


def release(session: Session, task_id: str, *, worker: str, why: str) -> bool:
    """Hand a running task back to the queue (its worker is stopping): queued again with its
    progress, the attempt not counted against ``max_attempts``. False if ``worker`` no longer
    holds it (nothing to hand back) or its cancellation was asked for (it ends cancelled)."""
    values = {
        "state": TaskState.queued,
        "stage": TaskState.queued.value,
        "lease_owner": None,
        "lease_expires_at": None,
        "attempts": Task.attempts - 1,
    }
    held = Task.lease_owner == worker
    if not moved(session, task_id, [TaskState.running], values, held, ~Task.cancel_requested):
        session.rollback()
        return False
    record_event(session, reload(session, task_id), f"handed back by {worker}: {why}")
    session.commit()
    return True


def report(
    session: Session,
    task_id: str,
    *,
    worker: str,
    progress: float,
    stage: Stage,
    policy: QueuePolicy,
) -> bool:
    """Record progress (never lower than already reported, by this attempt or an earlier
    one) and extend the lease.

    Returns False when the worker should stop: cancellation was asked for, or the task is
    no longer its own (``LeaseLost`` then follows at ``finish``)."""
    before = session.get(Task, task_id, populate_existing=True)
    if before is None:  # deleted while it ran
        return False
    stage_before, progress_before = before.stage, before.progress  # the row object is reused
    values = {
        "progress": case((Task.progress < progress, progress), else_=Task.progress),
        "stage": stage,
        "lease_expires_at": policy.lease_until(utcnow()),
    }
    if not moved(session, task_id, [TaskState.running], values, Task.lease_owner == worker):
        session.rollback()
        return False
    task = reload(session, task_id)
    if task.stage != stage_before or task.progress >= progress_before + 0.01:
        record_event(session, task)
    session.commit()
    return not task.cancel_requested


def finish(
    session: Session,
    task_id: str,
    *,
    worker: str,
    state: TaskState,
    generations: Sequence[Generation] = (),
    error_code: str | None = None,
    error_message: str | None = None,
    keep_for: timedelta | None = None,
    actions: Sequence[str] = (),
) -> Task:
    """End a running task held by ``worker``: its generations and final state in one commit.
    With ``keep_for``, the task and its files expire that long from now. ``actions`` are the
    shot planner's follow-up shot prompts."""
    if not state.terminal:
        raise IllegalTransition(f"finish needs a final state, not {state.value}")
    now = utcnow()
    values: dict[str, Any] = {
        "state": state,
        "stage": state.value,
        "finished_at": now,
        "expires_at": now + keep_for if keep_for is not None else None,
        "lease_owner": None,
        "lease_expires_at": None,
        "error_code": error_code,
        "error_message": error_message,
        "actions": list(actions),
    }
    if state is TaskState.succeeded:
        values["progress"] = 1.0
    if not moved(session, task_id, [TaskState.running], values, Task.lease_owner == worker):
        session.rollback()
        raise LeaseLost(f"task {task_id} is no longer held by {worker}")
    session.add_all(generations)
    task = reload(session, task_id)
    record_event(session, task, error_message)
    session.commit()
    return task


# --- from outside --------------------------------------------------------------------------
def cancel(session: Session, task_id: str) -> Task:
    """Cancel a queued task at once; ask a running one to stop at its next denoising step.
    A finished task cannot be cancelled (``IllegalTransition``)."""
    now = utcnow()
    stopped = {"state": TaskState.cancelled, "stage": TaskState.cancelled.value, "finished_at": now}
    if moved(session, task_id, [TaskState.queued], stopped):
        task = reload(session, task_id)
        record_event(session, task, "cancelled before it started")
    elif moved(session, task_id, [TaskState.running], {"cancel_requested": True}):
        task = reload(session, task_id)
        record_event(session, task, "cancellation requested")
    else:
        session.rollback()
        task = reload(session, task_id)
        raise IllegalTransition(
            f"task {task_id} is {task.state.value}; only queued or running tasks can be cancelled"
        )
    session.commit()
    return task


def requeue_expired(
    session: Session,
    policy: QueuePolicy,
    *,
    now: datetime | None = None,
    keep_for: timedelta | None = None,
) -> list[Task]:
    """Take back running tasks whose lease ran out: queued again while attempts remain
    (keeping their progress), else failed with code ``interrupted`` (cancelled, if
    cancellation had been asked) and, with ``keep_for``, expiring that long from now as a
    task that ``finish`` ends does. Returns the tasks moved; the caller removes the files of
    those that ended (``assets.remove_files``): no attempt of theirs writes again."""
    now = now or utcnow()
    expired = session.scalars(
        select(Task.id).where(Task.state == TaskState.running, Task.lease_expires_at < now)
    ).all()
    changed = []
    for task_id in expired:
        task = reload(session, task_id)
        if task.cancel_requested:
            target, code, message = TaskState.cancelled, None, "cancelled; its worker stopped"
        elif task.attempts >= policy.max_attempts:
            target, code = TaskState.failed, INTERRUPTED
            message = f"its worker stopped {task.attempts} times; giving up"
        else:
            target, code, message = TaskState.queued, None, "its worker stopped; queued again"
        values = {
            "state": target,
            "stage": target.value,
            "lease_owner": None,
            "lease_expires_at": None,
            "error_code": code,
            "error_message": message if code else None,
            "finished_at": now if target.terminal else None,
        }
        if target.terminal and keep_for is not None:
            values["expires_at"] = now + keep_for
        if moved(session, task_id, [TaskState.running], values, Task.lease_expires_at < now):
            task = reload(session, task_id)
            record_event(session, task, message)
            changed.append(task)
    session.commit()
    return changed
