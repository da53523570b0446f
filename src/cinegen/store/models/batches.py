"""The OpenAI Files and Batch APIs: stored files, batches, and one row per batch line."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, BigInteger, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from cinegen.store.models.base import Base, enum_column, utcnow


class StoredFile(Base):
    """A file of the OpenAI Files API: a batch's JSONL input (purpose ``batch``) or the
    output and error lines a batch wrote (``batch_output``); its bytes live at ``path``,
    relative to the data directory. A deleted file keeps its row (``deleted_at`` set, its
    bytes gone): batches go on naming it, as OpenAI's do. One with ``expires_at`` is deleted
    so once that has passed (``files.sweep_expired``)."""

    __tablename__ = "files"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    account_id: Mapped[str] = mapped_column(ForeignKey("accounts.id"), index=True)
    purpose: Mapped[str] = mapped_column(String(32))
    filename: Mapped[str] = mapped_column(String(255))
    bytes: Mapped[int] = mapped_column(BigInteger)
    path: Mapped[str] = mapped_column(String(500))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    deleted_at: Mapped[datetime | None] = mapped_column(default=None)
    expires_at: Mapped[datetime | None] = mapped_column(default=None, index=True)


class BatchState(StrEnum):
    """OpenAI's batch statuses."""

    validating = "validating"
    failed = "failed"  # its input file was refused as a whole: nothing was queued
    in_progress = "in_progress"
    finalizing = "finalizing"
    completed = "completed"
    cancelling = "cancelling"
    cancelled = "cancelled"
    expired = "expired"  # its completion window ended first: its unfinished lines were dropped

    @property
    def ended(self) -> bool:
        """Whether the batch has ended: it changes no more."""
        return self in (
            BatchState.completed,
            BatchState.failed,
            BatchState.cancelled,
            BatchState.expired,
        )


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
    state: Mapped[BatchState] = mapped_column(
        enum_column(BatchState), default=BatchState.validating
    )
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
    # Its output and error files expire this long after they are written (None: never).
    output_expires_seconds: Mapped[int | None] = mapped_column(Integer, default=None)

    requests: Mapped[list[BatchRequest]] = relationship(order_by="BatchRequest.line")


class BatchRequest(Base):
    """One line of a batch: waiting (no task, no refusal yet: the account was at its limit
    of unfinished tasks), queued as ``task_id``, or refused with ``status_code`` and the
    error body a single create would have had; an ``error`` without ``status_code`` ends it
    otherwise (never queued, or its batch expired first)."""

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
