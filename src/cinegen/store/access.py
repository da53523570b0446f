"""The all-access switch. While suspended, every request by a non-admin account is refused
(``api.deps``) and workers claim only admins' tasks (``jobs.queue.claim``): queued tasks
stay queued, none is lost, and all resume with access. Both moves are audited."""

from __future__ import annotations

from sqlalchemy import delete
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from cinegen.store import audit
from cinegen.store.models import Suspension

SWITCH = 1  # the one row


def suspension(session: Session) -> Suspension | None:
    """The suspension in force, or None when access is open."""
    return session.get(Suspension, SWITCH, populate_existing=True)


def suspend(session: Session, actor: str, reason: str) -> Suspension:
    """Suspend all non-admin access now (a second suspend keeps the first's time and
    reason)."""
    current = suspension(session)
    if current is not None:
        return current
    switch = Suspension(id=SWITCH, actor=actor, reason=reason)
    session.add(switch)
    audit.record(session, actor, "access.suspend", detail={"reason": reason})
    try:
        session.commit()
    except IntegrityError:  # suspended at the same moment by someone else
        session.rollback()
        current = suspension(session)
        assert current is not None
        return current
    return switch


def resume(session: Session, actor: str) -> bool:
    """Open access again; False if it was not suspended."""
    result = session.execute(delete(Suspension).where(Suspension.id == SWITCH))
    removed = bool(result.rowcount)  # type: ignore[attr-defined]
    if removed:
        audit.record(session, actor, "access.resume")
    session.commit()
    return removed
