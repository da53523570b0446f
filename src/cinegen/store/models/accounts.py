"""Who calls: accounts and their roles, their API keys, and the studio's browser sessions and
sign-in links made from a key."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from cinegen.store.models.base import Base, enum_column, utcnow


class Role(StrEnum):
    artist = "artist"
    reviewer = "reviewer"
    admin = "admin"


class Account(Base):
    __tablename__ = "accounts"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    role: Mapped[Role] = mapped_column(enum_column(Role))
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
