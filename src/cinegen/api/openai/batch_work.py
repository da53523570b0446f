"""What a batch does, for the HTTP routes (``batches.py``) and ``cinegen batch`` alike: read
its input file's lines, queue each through the single create's own path, follow its tasks,
and write the output and error files once every line has ended (``batch_output.py``); a
batch is made from its file by ``batch_create.py``.

A line's life: *waiting* (no task yet), then *queued* as a task or *refused* with the status
and error body a single ``POST /v1/videos`` would have answered (policy, validation, quota).
A line refused only because the account is at its limit of unfinished tasks (or the queue is
full) stays waiting and is tried again at the batch's next ``refresh``: a batch of 1000 lines
holds no more of the queue than its owner may. Each line is queued under the idempotency key
``<batch id>:<line>``, so a refresh interrupted between queueing a line and recording it, or
two refreshes at once, queue it once.

A batch moves on when someone asks about it (the API's retrieve, list and cancel, or
``cinegen batch``'s poll) and every few seconds by itself while an API process runs
(``advance_open``); its tasks render meanwhile like any other, on any worker. Its end sends
``batch.completed``, ``batch.cancelled`` or ``batch.expired`` to the account's webhook
endpoints, in the commit that ends it; a batch refused whole, ``batch.failed``.

Expiry, as OpenAI's: a batch still in progress when its completion window ends
(``expires_at``) is noticed at its next move (``now`` past it) and ends ``expired``. What had
ended by then stays as it is; every other line gets ``batch_expired`` as its error (an error
on a line with a task overrules the task: it is reported, and counted, as expired whatever
the task does next) and its task is cancelled, a running one asked to stop at its next step.
The batch does not wait for those: its lines are all decided. A batch whose lines had all
ended is completed, however late it is looked at; a cancelling one ends cancelled.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from cinegen.api import tasks
from cinegen.api.errors import ApiError
from cinegen.api.openai.batch_output import store_files, succeeded
from cinegen.api.openai.request_body import refuse_unknown
from cinegen.api.openai.video_create import CREATE_FIELDS, create_task
from cinegen.config import Settings
from cinegen.jobs import webhooks
from cinegen.jobs.moves import IllegalTransition
from cinegen.jobs.queue import cancel
from cinegen.store.models import (
    ApiKey,
    Batch,
    BatchRequest,
    BatchState,
    Task,
    utcnow,
)

# Refusals that say "not now" rather than "not this": the line waits and is tried again.
NOT_NOW = frozenset({"too_many_active_tasks", "queue_full"})
OPEN = (BatchState.in_progress, BatchState.cancelling)
# The webhook event a batch's end sends (``jobs.webhooks``); ``failed`` is sent at create.
ENDED_EVENTS: dict[BatchState, webhooks.EventType] = {
    BatchState.completed: "batch.completed",
    BatchState.cancelled: "batch.cancelled",
    BatchState.expired: "batch.expired",
}
FINALIZE_S = 120  # seconds: writing the files of 5000 lines takes well under one
KEY_REVOKED = {
    "code": "key_revoked",
    "message": "the API key that made the batch was revoked before this request was queued",
}
CANCELLED_BEFORE_QUEUED = {
    "code": "batch_cancelled",
    "message": "the batch was cancelled before this request was queued",
}


def batch_expired(batch: Batch) -> dict[str, str]:
    """The error of a line not done when its batch's completion window ended."""
    return {
        "code": "batch_expired",
        "message": f"the batch's completion window ({batch.completion_window}) ended before "
        "this request was done; send it again in a new batch",
    }


def _stalled(batch: Batch, now: datetime) -> bool:
    """A batch left finalizing longer than any writing of its files takes: the process
    writing them stopped, and another may take the work over."""
    since = batch.finalizing_at
    return since is not None and now - since > timedelta(seconds=FINALIZE_S)


def _same(column: Any, value: Any) -> Any:
    return column.is_(None) if value is None else column == value


@dataclass(frozen=True)
class Counts:
    total: int
    completed: int
    failed: int


# --- following -------------------------------------------------------------------------------
def refresh(
    session: Session, batch: Batch, *, settings: Settings, now: datetime | None = None
) -> Counts:
    """Expire the batch if its completion window has ended (at ``now``), else queue what
    may be queued of the waiting lines; once every line has ended write the output and
    error files and end the batch; its counts as they are now."""
    now = now or utcnow()
    _expire_if_due(session, batch, now)
    if batch.state is BatchState.in_progress:
        _queue_waiting(session, batch, settings=settings)
    found = _tasks(session, batch.requests)
    if batch.state in OPEN and all(_ended(r, found) for r in batch.requests):
        _finalize(session, batch, found, settings=settings, now=now)
    elif batch.state is BatchState.finalizing and _stalled(batch, now):
        _finalize(session, batch, found, settings=settings, now=now)  # its writer stopped
    return _counts(batch.requests, found)


def _due(batch: Batch, now: datetime) -> bool:
    """In progress when its completion window has ended."""
    ends = batch.expires_at
    return batch.state is BatchState.in_progress and ends is not None and now >= ends


def _expire_if_due(session: Session, batch: Batch, now: datetime) -> None:
    """A batch in progress past its completion window: every line not ended yet gets
    ``batch_expired`` and its task is cancelled (the module's docstring). Two refreshes at
    once write the same errors, and the second's cancels find the tasks ended."""
    if not _due(batch, now):
        return
    found = _tasks(session, batch.requests)
    unfinished = [r for r in batch.requests if not _ended(r, found)]
    for request in unfinished:
        request.error = batch_expired(batch)
    session.commit()
    _cancel_tasks(session, batch)


def _queue_waiting(session: Session, batch: Batch, *, settings: Settings) -> None:
    key = session.get(ApiKey, batch.key_id)
    assert key is not None  # keys are revoked, never deleted
    if key.revoked_at is not None:  # what a revoked key asked for is not queued any more
        for request in [r for r in batch.requests if _waiting(r)]:
            request.error = KEY_REVOKED
        session.commit()
        return
    for request in [r for r in batch.requests if _waiting(r)]:
        if not _room(session, batch.account_id, settings):
            return
        body, line = request.body, request.line
        idempotency = tasks.Idempotency.of(f"{batch.id}:{line}", body)
        try:
            refuse_unknown(body, CREATE_FIELDS)
            task = create_task(
                session,
                key,
                body,
                image=None,
                idempotency=idempotency,
                settings=settings,
                data_dir=settings.data_dir,
            )
        except ApiError as exc:
            session.rollback()  # the create's turn (a row lock) ends here
            if exc.code in NOT_NOW:
                return
            request.status_code, request.error = exc.status, exc.body()
        else:
            _take(session, request, task.id)
        session.commit()


def _room(session: Session, account_id: str, settings: Settings) -> bool:
    """Whether the account may queue one more task now: read first, so that a batch looked
    at while its account is at its limit does not take the account's turn (a write) for a
    create that can only be refused."""
    active = session.scalar(
        select(func.count()).where(Task.account_id == account_id, Task.state.in_(tasks.ACTIVE))
    )
    return (active or 0) < settings.max_active_tasks_per_account


def cancel_batch(
    session: Session, batch: Batch, *, settings: Settings, now: datetime | None = None
) -> Counts:
    """Stop the batch: its waiting lines are never queued, its queued tasks are cancelled at
    once and its running ones at their next step; it is cancelled once they have all ended.
    One past its completion window has expired instead (and cannot be cancelled)."""
    now = now or utcnow()
    if _due(batch, now):
        refresh(session, batch, settings=settings, now=now)  # it ends expired (or completed)
    if batch.state.ended:
        message = f"batch {batch.id} has already ended ({batch.state.value})"
        raise ApiError(409, message, code="already_finished")
    if batch.state is not BatchState.cancelling:
        batch.state, batch.cancelling_at = BatchState.cancelling, now
        for request in batch.requests:
            if _waiting(request):
                request.error = CANCELLED_BEFORE_QUEUED
        session.commit()
        _cancel_tasks(session, batch)
    return refresh(session, batch, settings=settings, now=now)


def _take(session: Session, request: BatchRequest, task_id: str) -> None:
    """Give a waiting line its new task, unless the line ended meanwhile (another refresh
    expired or cancelled the batch while this one created the task, and found no task to
    cancel): then the task is cancelled before any worker renders it."""
    taken = session.execute(
        update(BatchRequest)
        .where(
            BatchRequest.batch_id == request.batch_id,
            BatchRequest.line == request.line,
            BatchRequest.error.is_(None),
        )
        .values(task_id=task_id)
    )
    if taken.rowcount == 0:  # type: ignore[attr-defined]
        session.commit()
        with contextlib.suppress(IllegalTransition):  # a worker finished it meanwhile
            cancel(session, task_id)
    session.refresh(request)


def _cancel_tasks(session: Session, batch: Batch) -> None:
    """Cancel the batch's unfinished tasks, its lines read again (in one query) after the
    commit that ended them: a refresh that queued a line meanwhile gave it a task this one
    had not seen."""
    requests = session.scalars(
        select(BatchRequest)
        .where(BatchRequest.batch_id == batch.id)
        .execution_options(populate_existing=True)
    ).all()
    for task in _tasks(session, requests).values():
        if not task.state.terminal:
            with contextlib.suppress(IllegalTransition):  # it ended meanwhile
                cancel(session, task.id)


def _waiting(request: BatchRequest) -> bool:
    return request.task_id is None and request.error is None


def _tasks(session: Session, requests: Iterable[BatchRequest]) -> dict[str, Task]:
    ids = [r.task_id for r in requests if r.task_id is not None]
    found: dict[str, Task] = {}
    for start in range(0, len(ids), 500):  # SQLite binds at most a few thousand at once
        chunk = ids[start : start + 500]
        found.update((t.id, t) for t in session.scalars(select(Task).where(Task.id.in_(chunk))))
    return found


def _ended(request: BatchRequest, found: dict[str, Task]) -> bool:
    if request.error is not None:  # refused, never queued, or expired: decided
        return True
    if request.task_id is None:
        return False
    task = found.get(request.task_id)
    return task is None or task.state.terminal  # a deleted video has ended too


def _counts(requests: list[BatchRequest], found: dict[str, Task]) -> Counts:
    completed = failed = 0
    for request in requests:
        if succeeded(request, found):
            completed += 1
        elif _ended(request, found):
            failed += 1
    return Counts(total=len(requests), completed=completed, failed=failed)


# --- finishing -------------------------------------------------------------------------------
def _finalize(
    session: Session, batch: Batch, found: dict[str, Task], *, settings: Settings, now: datetime
) -> None:
    """Write the output and error files and end the batch: cancelled if it was being
    cancelled, expired if a line was not done when its window ended, else completed. Of two
    refreshes at once, the one whose conditional update moves the batch to finalizing writes
    them; the other leaves."""
    moved = session.execute(
        update(Batch)
        .where(Batch.id == batch.id, Batch.state == batch.state)
        .where(_same(Batch.finalizing_at, batch.finalizing_at))
        .values(state=BatchState.finalizing, finalizing_at=now)
        .execution_options(synchronize_session=False)
    )
    session.commit()
    if not moved.rowcount:  # type: ignore[attr-defined]
        session.refresh(batch)
        return
    session.refresh(batch)
    store_files(session, batch, found, settings=settings)
    if batch.cancelling_at is not None:
        batch.state, batch.cancelled_at = BatchState.cancelled, now
    elif any(_expired(r) for r in batch.requests):  # its ``expired_at`` is its expires_at
        batch.state = BatchState.expired
    else:
        batch.state, batch.completed_at = BatchState.completed, now
    webhooks.emit(session, batch.account_id, ENDED_EVENTS[batch.state], batch.id)
    session.commit()


def _expired(request: BatchRequest) -> bool:
    return request.error is not None and request.error.get("code") == "batch_expired"


def advance_open(session: Session, *, settings: Settings, now: datetime | None = None) -> int:
    """Refresh every batch that has not ended (and one whose files' writer stopped): the
    API process does so every few seconds (``api.app``), so a batch nobody looks at still
    queues its lines, ends or expires, and sends its webhook event. How many it looked at."""
    open_ids = session.scalars(
        select(Batch.id).where(Batch.state.in_([*OPEN, BatchState.finalizing]))
    ).all()
    for batch_id in open_ids:
        batch = session.get(Batch, batch_id)
        if batch is not None:
            refresh(session, batch, settings=settings, now=now)
    return len(open_ids)
