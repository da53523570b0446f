"""Turns per account. What reads an account's rows and then writes by what it read (a
create's quota and concurrency checks before its submit, the upload sweep before it
deletes) holds the account's row from the read to its commit: the others wait their turn,
in this process or any other, so none acts on a picture another is about to change.

The lock is a no-op update of the account's row: PostgreSQL's row lock, SQLite's write
lock. The transaction so far ends first (its snapshot may be stale); accounts are taken in
one order everywhere, so two takers never wait on each other.
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import update
from sqlalchemy.orm import Session

from cinegen.store.models import Account


def take_turn(session: Session, account_ids: Iterable[str]) -> None:
    """Hold these accounts' rows until ``session`` commits or rolls back."""
    if session.new or session.dirty or session.deleted:
        raise RuntimeError("take_turn: the session holds unsaved changes; commit them first")
    session.commit()
    for account_id in sorted(set(account_ids)):
        hold = update(Account).where(Account.id == account_id)
        session.execute(hold.values(created_at=Account.created_at))
