"""Studio sessions: a browser signed in with an API key, and the one-time links that sign
one in without the key being typed.

The browser keeps a random token in an HttpOnly cookie; only the token's SHA-256 is stored,
as for keys. A session lives until it expires, its owner signs out, or its key is revoked
(``api.deps`` reads the key again on every request). A sign-in link works once, within
``LINK_LIFETIME``: the conditional update that marks it used lets only one browser win.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from cinegen.store.keys import hash_secret
from cinegen.store.models import ApiKey, SignInLink, StudioSession, new_id, utcnow

LINK_LIFETIME = timedelta(minutes=2)


@dataclass(frozen=True)
class NewStudioSession:
    session: StudioSession
    token: str  # for the cookie; not stored anywhere


def start(session: Session, key: ApiKey, *, lifetime: timedelta) -> NewStudioSession:
    token = secrets.token_urlsafe(32)
    row = StudioSession(
        id=new_id("sess"),
        token_hash=hash_secret(token),
        csrf=secrets.token_urlsafe(24),
        key_id=key.id,
        expires_at=utcnow() + lifetime,
    )
    session.add(row)
    session.commit()
    return NewStudioSession(row, token)


def find(session: Session, token: str) -> StudioSession | None:
    """The live session ``token`` opens, or None (unknown, signed out or expired)."""
    query = select(StudioSession).where(StudioSession.token_hash == hash_secret(token))
    row = session.scalar(query)
    if row is None or row.expires_at <= utcnow():
        return None
    return row


def end(session: Session, token: str) -> None:
    session.execute(delete(StudioSession).where(StudioSession.token_hash == hash_secret(token)))
    session.commit()


def make_link(session: Session, key: ApiKey) -> str:
    """A token for a one-time sign-in link with ``key``, good for ``LINK_LIFETIME``."""
    token = secrets.token_urlsafe(32)
    expires_at = utcnow() + LINK_LIFETIME
    link = SignInLink(token_hash=hash_secret(token), key_id=key.id, expires_at=expires_at)
    session.add(link)
    session.commit()
    return token


def redeem_link(session: Session, token: str) -> ApiKey | None:
    """The key a sign-in link names, if the link is unused and in time; it is used now."""
    now = utcnow()
    claimed = session.execute(
        update(SignInLink)
        .where(
            SignInLink.token_hash == hash_secret(token),
            SignInLink.used_at.is_(None),
            SignInLink.expires_at > now,
        )
        .values(used_at=now)
    )
    session.commit()
    if not claimed.rowcount:  # type: ignore[attr-defined]
        return None
    link = session.get(SignInLink, hash_secret(token))
    return session.get(ApiKey, link.key_id) if link is not None else None
