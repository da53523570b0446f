"""The audit log: every admin action, key change, suspension, review decision and refusal,
appended and never changed (the database refuses UPDATE and DELETE on it).

``record`` adds a line to the caller's transaction, so the action and its line commit
together; ``read`` pages through the log oldest first. The CLI's actor is ``cli:<user>``.

Lines commit in the order of their ids, so a reader that pages on from the last id it saw
misses none: on PostgreSQL a sequence hands out ids at insert, and two writers could
commit out of order, so writers of the log take turns (a table lock held to commit);
SQLite has a single writer anyway.
"""

from __future__ import annotations

import getpass
from typing import Any

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from cinegen.store.models import AuditEvent


def cli_actor() -> str:
    """Who runs a command on this machine, as the log names them."""
    try:
        return f"cli:{getpass.getuser()}"
    except (KeyError, OSError):  # no login name (a container's anonymous uid)
        return "cli"


def record(
    session: Session,
    actor: str,
    action: str,
    target: str | None = None,
    detail: dict[str, Any] | None = None,
) -> AuditEvent:
    """Add one line to the log in ``session``'s transaction (the caller commits)."""
    if session.get_bind().dialect.name == "postgresql":
        # EXCLUSIVE blocks other writers of the log until this transaction ends; readers
        # (ACCESS SHARE) go on.
        session.execute(text("LOCK TABLE audit_events IN EXCLUSIVE MODE"))
    event = AuditEvent(actor=actor, action=action, target=target, detail=detail)
    session.add(event)
    return event


def read(session: Session, after: int = 0, limit: int = 100) -> list[AuditEvent]:
    """Up to ``limit`` lines after line ``after``, oldest first."""
    query = select(AuditEvent).where(AuditEvent.id > after).order_by(AuditEvent.id).limit(limit)
    return list(session.scalars(query))


def read_back(session: Session, before: int | None = None, limit: int = 100) -> list[AuditEvent]:
    """Up to ``limit`` lines before line ``before`` (default: from the end), newest first."""
    query = select(AuditEvent)
    if before is not None:
        query = query.where(AuditEvent.id < before)
    return list(session.scalars(query.order_by(AuditEvent.id.desc()).limit(limit)))


def last(session: Session, limit: int) -> list[AuditEvent]:
    """The newest ``limit`` lines, oldest first."""
    query = select(AuditEvent).order_by(AuditEvent.id.desc()).limit(limit)
    return list(reversed(list(session.scalars(query))))
