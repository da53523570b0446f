"""Accounts and their bearer API keys: create (the key is shown once), list, revoke, and
look a presented key up. Only SHA-256 hashes are stored; a revoked key fails on its very
next request because every request looks the key up again (no cache to go stale)."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from cinegen.store import audit
from cinegen.store.models import Account, ApiKey, Role, new_id, utcnow

KEY_PREFIX = "cg-"


@dataclass(frozen=True)
class NewKey:
    key: ApiKey
    secret: str  # the bearer token itself; not stored anywhere


def hash_secret(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def create_key(
    session: Session,
    name: str,
    account: str | None = None,
    role: Role = Role.artist,
    actor: str = "cli",
) -> NewKey:
    """A new key named ``name`` for the account named ``account`` (default: ``name``),
    creating the account with ``role`` if it does not exist yet; audited as ``actor``."""
    account_name = account or name
    owner = session.scalar(select(Account).where(Account.name == account_name))
    if owner is None:
        owner = Account(id=new_id("acct"), name=account_name, role=role)
        session.add(owner)
    elif owner.role is not role:
        raise ValueError(
            f"account {account_name!r} exists with role {owner.role.value}; "
            f"give --role {owner.role.value} or another --account"
        )
    secret = KEY_PREFIX + secrets.token_urlsafe(32)
    key = ApiKey(
        id=new_id("key"), account=owner, name=name, prefix=secret[:10], hash=hash_secret(secret)
    )
    session.add(key)
    detail = {"name": name, "account": owner.name, "role": owner.role.value}
    audit.record(session, actor, "key.create", target=key.id, detail=detail)
    session.commit()
    return NewKey(key, secret)


def list_keys(session: Session) -> list[ApiKey]:
    return list(session.scalars(select(ApiKey).order_by(ApiKey.created_at)))


def find_key(session: Session, key_id: str) -> ApiKey:
    """A key by its id or by the prefix listings show; ``KeyError`` naming what to do."""
    key = session.get(ApiKey, key_id) or session.scalar(
        select(ApiKey).where(ApiKey.prefix == key_id)
    )
    if key is None:
        raise KeyError(f"no API key {key_id!r}; `cinegen keys list` shows the ids")
    return key


def set_quota(
    session: Session, key_id: str, quota: dict[str, Any] | None, actor: str = "cli"
) -> ApiKey:
    """Give a key its own limits over its role's (None: the role's again). Audited."""
    key = find_key(session, key_id)
    key.quota = quota or None
    audit.record(session, actor, "key.quota", target=key.id, detail={"quota": key.quota})
    session.commit()
    return key


def revoke_key(session: Session, key_id: str, actor: str = "cli") -> ApiKey:
    """Revoke by key id or by the shown prefix; revoking twice is harmless. Audited as
    ``actor``."""
    key = find_key(session, key_id)
    if key.revoked_at is None:
        key.revoked_at = utcnow()
        audit.record(session, actor, "key.revoke", target=key.id, detail={"name": key.name})
        session.commit()
    return key


def live_key(session: Session, secret: str) -> ApiKey | None:
    """The live key ``secret`` is, or None for an unknown or revoked one."""
    key = session.scalar(select(ApiKey).where(ApiKey.hash == hash_secret(secret)))
    if key is None or key.revoked_at is not None:
        return None
    return key


def authenticate(session: Session, secret: str) -> Account | None:
    """The account of a live key, or None for an unknown or revoked one."""
    key = live_key(session, secret)
    return key.account if key is not None else None
