"""What an account brings: uploaded images and videos, and the characters made from them."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from cinegen.store.models.base import Base, utcnow


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
