"""Tasks: one request each (one ``GenerationSpec``), the states a task moves through, its
``n_variants`` *generations* (one set of files each), and the ``TaskEvent`` row every
state change writes, so progress streams and audits read one table."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from cinegen.store.models.base import Base, enum_column, utcnow


class TaskState(StrEnum):
    queued = "queued"
    running = "running"
    succeeded = "succeeded"
    failed = "failed"
    cancelled = "cancelled"

    @property
    def terminal(self) -> bool:
        """Whether the task has ended: no move leads out of this state."""
        return not TASK_MOVES[self]

    def can_move_to(self, target: TaskState) -> bool:
        return target in TASK_MOVES[self]


# Every move a task's state may make, and nothing else: the queue checks each change
# against this table (jobs/queue.py). Running -> queued is a stopped worker's task taken
# back while attempts remain (or handed back by a worker that drains); a queued task is
# cancelled at once, a running one when its worker stops at the next step; queued ->
# failed is a task no live worker could ever hold (jobs/routing.py).
TASK_MOVES: dict[TaskState, frozenset[TaskState]] = {
    TaskState.queued: frozenset({TaskState.running, TaskState.cancelled, TaskState.failed}),
    TaskState.running: frozenset(
        {TaskState.succeeded, TaskState.failed, TaskState.cancelled, TaskState.queued}
    ),
    TaskState.succeeded: frozenset(),
    TaskState.failed: frozenset(),
    TaskState.cancelled: frozenset(),
}


class Task(Base):
    __tablename__ = "tasks"
    __table_args__ = (
        Index("ix_tasks_queue", "state", "created_at"),
        Index("ix_tasks_account", "account_id", "created_at"),
        Index("ix_tasks_idempotency", "account_id", "idempotency_key", unique=True),
        Index("ix_tasks_key", "key_id", "created_at"),
        Index("ix_tasks_mark", "mark"),
    )

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    account_id: Mapped[str] = mapped_column(ForeignKey("accounts.id"))
    key_id: Mapped[str | None] = mapped_column(ForeignKey("api_keys.id"), default=None)
    spec: Mapped[dict[str, Any]] = mapped_column(JSON)  # GenerationSpec.model_dump(mode="json")
    state: Mapped[TaskState] = mapped_column(enum_column(TaskState), default=TaskState.queued)
    progress: Mapped[float] = mapped_column(Float, default=0.0)  # 0..1, never decreases
    stage: Mapped[str] = mapped_column(String(32), default="queued")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    lease_owner: Mapped[str | None] = mapped_column(String(80), default=None)
    lease_expires_at: Mapped[datetime | None] = mapped_column(default=None)
    cancel_requested: Mapped[bool] = mapped_column(default=False)
    error_code: Mapped[str | None] = mapped_column(String(64), default=None)
    error_message: Mapped[str | None] = mapped_column(Text, default=None)
    idempotency_key: Mapped[str | None] = mapped_column(String(255), default=None)
    request_sha256: Mapped[str | None] = mapped_column(String(64), default=None)  # of the body
    actions: Mapped[list[str] | None] = mapped_column(JSON, default=None)  # follow-up shots
    # The 32 bits of the id that its files' invisible watermark carries (provenance/payload.py)
    mark: Mapped[int | None] = mapped_column(BigInteger, default=None)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    started_at: Mapped[datetime | None] = mapped_column(default=None)
    finished_at: Mapped[datetime | None] = mapped_column(default=None)
    expires_at: Mapped[datetime | None] = mapped_column(default=None)

    generations: Mapped[list[Generation]] = relationship(
        back_populates="task", order_by="Generation.index"
    )


class Generation(Base):
    """One variant's files, paths relative to the data directory's ``assets/``."""

    __tablename__ = "generations"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    task_id: Mapped[str] = mapped_column(ForeignKey("tasks.id"), index=True)
    index: Mapped[int] = mapped_column(Integer)
    seed: Mapped[int] = mapped_column(BigInteger)  # up to 2**32 - 1: past a 32-bit INTEGER
    width: Mapped[int] = mapped_column(Integer)
    height: Mapped[int] = mapped_column(Integer)
    n_frames: Mapped[int] = mapped_column(Integer)
    files: Mapped[dict[str, str]] = mapped_column(JSON)  # kind (video, thumbnail, …) -> path
    has_audio: Mapped[bool] = mapped_column(Boolean, default=False)  # a sound track in video
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    task: Mapped[Task] = relationship(back_populates="generations")


class TaskEvent(Base):
    __tablename__ = "task_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    task_id: Mapped[str] = mapped_column(ForeignKey("tasks.id"), index=True)
    at: Mapped[datetime] = mapped_column(default=utcnow)
    state: Mapped[TaskState] = mapped_column(enum_column(TaskState))
    progress: Mapped[float] = mapped_column(Float)
    stage: Mapped[str] = mapped_column(String(32))
    message: Mapped[str | None] = mapped_column(Text, default=None)
    preview: Mapped[bytes | None] = mapped_column(LargeBinary, default=None)  # a small JPEG
