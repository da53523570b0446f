"""A task's moves, each one conditional ``UPDATE … WHERE state = <expected>`` whose row count
says whether it happened, checked against ``TASK_MOVES``: two workers can never both claim a
task and a late worker can never overwrite a task that was taken back from it. Each move
writes a ``TaskEvent`` in the same transaction (``record_event``); ``queue.py`` makes the
moves."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import ColumnElement, update
from sqlalchemy.orm import Session

from cinegen.errors import CinegenError
from cinegen.jobs import webhooks
from cinegen.store.models import Task, TaskEvent, TaskState


class IllegalTransition(CinegenError):
    """A move the state machine does not allow from the task's current state."""


# The webhook event a task's end sends to its account's endpoints; a cancel sends none.
ENDED_EVENTS: dict[TaskState, webhooks.EventType] = {
    TaskState.succeeded: "video.completed",
    TaskState.failed: "video.failed",
}


def record_event(
    session: Session, task: Task, message: str | None = None, preview: bytes | None = None
) -> None:
    """The row every move of a task writes, in the move's commit; a move to an end also
    queues that end's webhook event (``jobs.webhooks``) in the same commit."""
    session.add(
        TaskEvent(
            task_id=task.id,
            state=task.state,
            progress=task.progress,
            stage=task.stage,
            message=message,
            preview=preview,
        )
    )
    if task.state in ENDED_EVENTS:
        webhooks.emit(session, task.account_id, ENDED_EVENTS[task.state], task.id)


def moved(
    session: Session,
    task_id: str,
    expected: Sequence[TaskState],
    values: dict[str, Any],
    *guards: ColumnElement[bool],
) -> bool:
    """Apply ``values`` to the task if it is in one of the ``expected`` states and meets
    every guard; True if it did (the caller commits or rolls back). A change of state must
    be a move ``TASK_MOVES`` allows from every expected state."""
    target: TaskState | None = values.get("state")
    for state in expected:
        if target is not None and not state.can_move_to(target):
            raise IllegalTransition(f"a task cannot move from {state.value} to {target.value}")
    result = session.execute(
        update(Task)
        .where(Task.id == task_id, Task.state.in_(list(expected)), *guards)
        .values(**values)
        .execution_options(synchronize_session=False)
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]


def reload(session: Session, task_id: str) -> Task:
    task = session.get(Task, task_id, populate_existing=True)
    assert task is not None
    return task
