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


class WebhookEndpoint(Base):
    """A URL of an account's that receives events (``jobs/webhooks.py``), under one of the
    prefixes the operator approved (``Settings.webhook_urls``). ``secret`` signs each
    delivery; after a rotation that keeps it, ``old_secret`` signs too until it expires."""

    __tablename__ = "webhook_endpoints"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    account_id: Mapped[str] = mapped_column(ForeignKey("accounts.id"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    url: Mapped[str] = mapped_column(String(2000))
    event_types: Mapped[list[str]] = mapped_column(JSON)
    secret: Mapped[str] = mapped_column(String(100))
    old_secret: Mapped[str | None] = mapped_column(String(100), default=None)
    old_secret_expires_at: Mapped[datetime | None] = mapped_column(default=None)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class DeliveryState(StrEnum):
    pending = "pending"  # due at next_attempt_at
    delivered = "delivered"  # the receiver answered 2xx
    failed = "failed"  # every attempt failed; kept for the operator to read


class WebhookDelivery(Base):
    """One event on its way to one endpoint: the outbox. Written in the commit that made
    the event happen, so none is lost and none reports a change that was rolled back; the
    API process sends what is due (``jobs.webhooks.Courier``), never a worker."""

    __tablename__ = "webhook_deliveries"
    __table_args__ = (Index("ix_webhook_deliveries_due", "state", "next_attempt_at"),)

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    endpoint_id: Mapped[str] = mapped_column(
        ForeignKey("webhook_endpoints.id", ondelete="CASCADE"), index=True
    )
    event_id: Mapped[str] = mapped_column(String(40))  # the webhook-id header: one per event
    type: Mapped[str] = mapped_column(String(64))
    body: Mapped[str] = mapped_column(Text)  # the JSON sent, byte for byte what is signed
    state: Mapped[DeliveryState] = mapped_column(_enum(DeliveryState))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(default=utcnow)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    delivered_at: Mapped[datetime | None] = mapped_column(default=None)
    status_code: Mapped[int | None] = mapped_column(Integer, default=None)
    last_error: Mapped[str | None] = mapped_column(Text, default=None)


class StoredFile(Base):
    """A file of the OpenAI Files API: a batch's JSONL input (purpose ``batch``) or the
    output and error lines a batch wrote (``batch_output``); its bytes live at ``path``,
    relative to the data directory."""

    __tablename__ = "files"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    account_id: Mapped[str] = mapped_column(ForeignKey("accounts.id"), index=True)
    purpose: Mapped[str] = mapped_column(String(32))
    filename: Mapped[str] = mapped_column(String(255))
    bytes: Mapped[int] = mapped_column(BigInteger)
    path: Mapped[str] = mapped_column(String(500))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class BatchState(StrEnum):
    """OpenAI's batch statuses; ``expired`` never happens here (nothing is dropped)."""

    validating = "validating"
    failed = "failed"  # its input file was refused as a whole: nothing was queued
    in_progress = "in_progress"
    finalizing = "finalizing"
    completed = "completed"
    cancelling = "cancelling"
    cancelled = "cancelled"


class Batch(Base):
    """A batch of video requests, one ``BatchRequest`` per line of its input file; its
    status and counts follow its lines' tasks, and are stored as they are last seen."""

    __tablename__ = "batches"
    __table_args__ = (Index("ix_batches_account", "account_id", "created_at"),)

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    account_id: Mapped[str] = mapped_column(ForeignKey("accounts.id"))
    key_id: Mapped[str | None] = mapped_column(ForeignKey("api_keys.id"), default=None)
    input_file_id: Mapped[str] = mapped_column(ForeignKey("files.id"))
    endpoint: Mapped[str] = mapped_column(String(64))
    completion_window: Mapped[str] = mapped_column(String(16))
    state: Mapped[BatchState] = mapped_column(_enum(BatchState), default=BatchState.validating)
    meta: Mapped[dict[str, str] | None] = mapped_column(JSON, default=None)  # its metadata
    errors: Mapped[list[dict[str, Any]] | None] = mapped_column(JSON, default=None)
    output_file_id: Mapped[str | None] = mapped_column(String(40), default=None)
    error_file_id: Mapped[str | None] = mapped_column(String(40), default=None)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    in_progress_at: Mapped[datetime | None] = mapped_column(default=None)
    finalizing_at: Mapped[datetime | None] = mapped_column(default=None)
    completed_at: Mapped[datetime | None] = mapped_column(default=None)
    failed_at: Mapped[datetime | None] = mapped_column(default=None)
    cancelling_at: Mapped[datetime | None] = mapped_column(default=None)
    cancelled_at: Mapped[datetime | None] = mapped_column(default=None)
    expires_at: Mapped[datetime | None] = mapped_column(default=None)

    requests: Mapped[list[BatchRequest]] = relationship(order_by="BatchRequest.line")


class BatchRequest(Base):
    """One line of a batch: waiting (no task, no refusal yet: the account was at its limit
    of unfinished tasks), queued as ``task_id``, or refused with ``status_code`` and the
    error body a single create would have had."""

    __tablename__ = "batch_requests"

    batch_id: Mapped[str] = mapped_column(ForeignKey("batches.id"), primary_key=True)
    line: Mapped[int] = mapped_column(Integer, primary_key=True)  # 1-based, as editors count
    custom_id: Mapped[str] = mapped_column(String(512))
    body: Mapped[dict[str, Any]] = mapped_column(JSON)
    # No foreign key: deleting a video (DELETE /v1/videos/{id}) must not need its batch's
    # leave; a line whose task is gone is reported as such.
    task_id: Mapped[str | None] = mapped_column(String(40), default=None)
    status_code: Mapped[int | None] = mapped_column(Integer, default=None)
    error: Mapped[dict[str, Any] | None] = mapped_column(JSON, default=None)


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
