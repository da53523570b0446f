"""Shared generations: asked for by their owner, decided by a reviewer."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from cinegen.store.models.base import Base, enum_column, utcnow
from cinegen.store.models.tasks import Generation


class ShareState(StrEnum):
    pending = "pending"  # asked for, waiting for a reviewer
    approved = "approved"  # shared: its public page works
    rejected = "rejected"  # never shared


class Share(Base):
    """A generation its owner asked to share. With review on it waits for a reviewer;
    approved, it has a public page at an unguessable ``public_id``; rejected, never."""

    __tablename__ = "shares"

    generation_id: Mapped[str] = mapped_column(ForeignKey("generations.id"), primary_key=True)
    account_id: Mapped[str] = mapped_column(ForeignKey("accounts.id"), index=True)
    state: Mapped[ShareState] = mapped_column(enum_column(ShareState), index=True)
    public_id: Mapped[str | None] = mapped_column(String(64), unique=True, default=None)
    requested_at: Mapped[datetime] = mapped_column(default=utcnow)
    decided_at: Mapped[datetime | None] = mapped_column(default=None)
    decided_by: Mapped[str | None] = mapped_column(String(200), default=None)
    reason: Mapped[str | None] = mapped_column(Text, default=None)

    generation: Mapped[Generation] = relationship()
