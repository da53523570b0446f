"""The operator's side: the all-access switch and the append-only audit log."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from cinegen.store.models.base import Base, utcnow


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
