"""The tables. Ids are prefixed random strings (``task_…``) so that a log line says what an
id names; times are timezone-aware UTC.

A *task* is one request (one ``GenerationSpec``); it holds ``n_variants`` *generations*, one
set of files each. Every state change of a task also writes a ``TaskEvent`` row, so progress
streams and audits read one table.
"""

from __future__ import annotations

import secrets
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any, ClassVar

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
)
from sqlalchemy import Enum as SqlEnum
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship
from sqlalchemy.types import TypeDecorator


def utcnow() -> datetime:
    return datetime.now(UTC)


def new_id(prefix: str) -> str:
    """``prefix_`` + 24 random hex digits: unguessable, so ids double as capabilities."""
    return f"{prefix}_{secrets.token_hex(12)}"


class UtcDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC in and out; SQLite stores naive values, so tz is restored on read."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is not None and value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        return value.astimezone(UTC) if value is not None else None

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        return value.replace(tzinfo=UTC) if value is not None and value.tzinfo is None else value


class Role(StrEnum):
    artist = "artist"
    reviewer = "reviewer"
    admin = "admin"


class ShareState(StrEnum):
    pending = "pending"  # asked for, waiting for a reviewer
    approved = "approved"  # shared: its public page works
    rejected = "rejected"  # never shared


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


class Base(DeclarativeBase):
    type_annotation_map: ClassVar[dict[Any, Any]] = {datetime: UtcDateTime}


def _enum(kind: type[StrEnum]) -> SqlEnum:
    # Stored as plain strings (no database enum type): adding a value needs no migration.
    return SqlEnum(kind, native_enum=False, length=16, validate_strings=True)


class Account(Base):
    __tablename__ = "accounts"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    role: Mapped[Role] = mapped_column(_enum(Role))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    keys: Mapped[list[ApiKey]] = relationship(back_populates="account")


class ApiKey(Base):
    """A bearer key. Only its SHA-256 is stored: keys are 256-bit random, so a fast hash is
    as safe as a slow one, and lets every request look its key up by an index."""

    __tablename__ = "api_keys"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    account_id: Mapped[str] = mapped_column(ForeignKey("accounts.id"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    prefix: Mapped[str] = mapped_column(String(16))  # shown in listings to tell keys apart
    hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    revoked_at: Mapped[datetime | None] = mapped_column(default=None)
    # This key's own limits over its role's (config.Quota's fields); None: the role's.
    quota: Mapped[dict[str, Any] | None] = mapped_column(JSON, default=None)

    account: Mapped[Account] = relationship(back_populates="keys")


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
    state: Mapped[TaskState] = mapped_column(_enum(TaskState), default=TaskState.queued)
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
    state: Mapped[TaskState] = mapped_column(_enum(TaskState))
    progress: Mapped[float] = mapped_column(Float)
    stage: Mapped[str] = mapped_column(String(32))
    message: Mapped[str | None] = mapped_column(Text, default=None)
    preview: Mapped[bytes | None] = mapped_column(LargeBinary, default=None)  # a small JPEG


class Upload(Base):
    __tablename__ = "uploads"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    account_id: Mapped[str] = mapped_column(ForeignKey("accounts.id"), index=True)
    path: Mapped[str] = mapped_column(String(500))
    media_type: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime | None] = mapped_column(default=None)


class Character(Base):
    """A stored character: mentioned in prompts as ``@name`` (unique per account) or by id;
    ``description`` is what the model receives, ``upload_id`` the reference it came from."""

    __tablename__ = "characters"
    __table_args__ = (Index("ix_characters_account_name", "account_id", "name", unique=True),)

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    account_id: Mapped[str] = mapped_column(ForeignKey("accounts.id"))
    name: Mapped[str] = mapped_column(String(40))
    description: Mapped[str] = mapped_column(String(300))
    upload_id: Mapped[str | None] = mapped_column(ForeignKey("uploads.id"), default=None)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Suspension(Base):
    """The all-access switch: while its one row exists, every non-admin request is refused
    and workers leave non-admin tasks queued."""

    __tablename__ = "suspension"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)  # always 1: one switch
    since: Mapped[datetime] = mapped_column(default=utcnow)
    actor: Mapped[str] = mapped_column(String(200))
    reason: Mapped[str] = mapped_column(Text)


class AuditEvent(Base):
    """One line of the append-only audit log: who did what to what. The database refuses
    to change or delete a row (triggers, migration 0007)."""

    __tablename__ = "audit_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    at: Mapped[datetime] = mapped_column(default=utcnow)
    actor: Mapped[str] = mapped_column(String(200))  # an account id, or cli:<os user>
    action: Mapped[str] = mapped_column(String(64))  # e.g. key.create, access.suspend
    target: Mapped[str | None] = mapped_column(String(200), default=None)
    detail: Mapped[dict[str, Any] | None] = mapped_column(JSON, default=None)


class Share(Base):
    """A generation its owner asked to share. With review on it waits for a reviewer;
    approved, it has a public page at an unguessable ``public_id``; rejected, never."""

    __tablename__ = "shares"

    generation_id: Mapped[str] = mapped_column(ForeignKey("generations.id"), primary_key=True)
    account_id: Mapped[str] = mapped_column(ForeignKey("accounts.id"), index=True)
    state: Mapped[ShareState] = mapped_column(_enum(ShareState), index=True)
    public_id: Mapped[str | None] = mapped_column(String(64), unique=True, default=None)
    requested_at: Mapped[datetime] = mapped_column(default=utcnow)
    decided_at: Mapped[datetime | None] = mapped_column(default=None)
    decided_by: Mapped[str | None] = mapped_column(String(200), default=None)
    reason: Mapped[str | None] = mapped_column(Text, default=None)

    generation: Mapped[Generation] = relationship()


class StudioSession(Base):
    """A browser signed in to the studio with an API key. The browser holds ``token`` in an
    HttpOnly cookie (only its SHA-256 is stored here); ``csrf`` is the value every change it
    asks for must repeat in a header. The key is looked up on every request, so revoking it
    ends the session at once."""

    __tablename__ = "studio_sessions"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    csrf: Mapped[str] = mapped_column(String(64))
    key_id: Mapped[str] = mapped_column(ForeignKey("api_keys.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime] = mapped_column()

    key: Mapped[ApiKey] = relationship()


class SignInLink(Base):
    """A one-time, short-lived link that signs a browser in with ``key_id`` (``cinegen
    studio`` makes one, so no key is ever typed, printed or kept in a shell's history)."""

    __tablename__ = "sign_in_links"

    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    key_id: Mapped[str] = mapped_column(ForeignKey("api_keys.id"))
    expires_at: Mapped[datetime] = mapped_column()
    used_at: Mapped[datetime | None] = mapped_column(default=None)


class WorkerRow(Base):
    """One running ``cinegen worker``: what it has loaded and how much device memory it can
    give a task, so that claims route (jobs/routing.py). Written when the worker starts and
    at each beat; deleted when it exits. A row whose beats stopped is a worker that died."""

    __tablename__ = "workers"

    name: Mapped[str] = mapped_column(String(80), primary_key=True)  # as in Task.lease_owner
    models: Mapped[list[str]] = mapped_column(JSON, default=list)  # loaded, least recent first
    device: Mapped[str] = mapped_column(String(32), default="cpu")
    # Bytes the worker can give one task (free on its device before it loaded anything);
    # None: unplanned (a CPU), any task fits.
    capacity_bytes: Mapped[int | None] = mapped_column(BigInteger, default=None)
    free_bytes: Mapped[int | None] = mapped_column(BigInteger, default=None)  # at the beat
    task_id: Mapped[str | None] = mapped_column(String(40), default=None)  # running now
    draining: Mapped[bool] = mapped_column(Boolean, default=False)  # told to stop
    started_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_beat: Mapped[datetime] = mapped_column(default=utcnow)
