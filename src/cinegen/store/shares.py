"""Sharing, reviewed: an owner asks to share one of their generations; with review on it
waits for a reviewer, who approves (it gets a public page at an unguessable id) or rejects
(it is never shared). With review off, asking shares at once. Every step is audited."""

from __future__ import annotations

import secrets

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from cinegen.errors import CinegenError
from cinegen.store import audit
from cinegen.store.models import Generation, Share, ShareState, utcnow

NO_REVIEW = "no review"  # who decided a share when the deployment reviews nothing


class AlreadyDecided(CinegenError):
    """A review decision that cannot be made: already made, or on one's own generation."""


def request(session: Session, generation: Generation, actor: str, review: bool) -> Share:
    """Ask to share ``generation`` (its owner's call). Asking again returns the same share,
    whatever was decided: a rejected generation stays rejected."""
    share = session.get(Share, generation.id)
    if share is not None:
        return share
    share = Share(
        generation_id=generation.id,
        account_id=generation.task.account_id,
        state=ShareState.pending if review else ShareState.approved,
    )
    if not review:
        _approve(share, NO_REVIEW)
    session.add(share)
    audit.record(
        session, actor, "share.request", target=generation.id, detail={"state": share.state.value}
    )
    try:
        session.commit()
    except IntegrityError:  # the same request at the same moment: the first one stands
        session.rollback()
        earlier = session.get(Share, generation.id)
        assert earlier is not None
        return earlier
    return share


def decide(session: Session, share: Share, reviewer: str, approve: bool, reason: str) -> Share:
    """A reviewer's decision on a pending share."""
    if share.account_id == reviewer:
        raise AlreadyDecided("a reviewer cannot decide on their own generation; ask another")
    values: dict[str, object] = {
        "state": ShareState.approved if approve else ShareState.rejected,
        "decided_by": reviewer,
        "decided_at": utcnow(),
        "reason": reason or None,
        "public_id": secrets.token_urlsafe(16) if approve else None,
    }
    # Conditional, so that of two reviewers deciding at once exactly one decides.
    moved = session.execute(
        update(Share)
        .where(Share.generation_id == share.generation_id, Share.state == ShareState.pending)
        .values(**values)
    )
    if not moved.rowcount:  # type: ignore[attr-defined]
        session.rollback()
        session.refresh(share)
        raise AlreadyDecided(
            f"generation {share.generation_id} is already {share.state.value} "
            f"(by {share.decided_by}); a decision is final"
        )
    action = "review.approve" if approve else "review.reject"
    audit.record(
        session,
        reviewer,
        action,
        target=share.generation_id,
        detail={"reason": reason} if reason else None,
    )
    session.commit()
    session.refresh(share)
    return share


def _approve(share: Share, by: str) -> None:
    share.state, share.decided_by, share.decided_at = ShareState.approved, by, utcnow()
    share.public_id = secrets.token_urlsafe(16)  # 128 random bits: the link is the secret


def pending(session: Session, limit: int = 100) -> list[Share]:
    """The review queue, oldest request first."""
    query = select(Share).where(Share.state == ShareState.pending)
    return list(session.scalars(query.order_by(Share.requested_at).limit(limit)))


def public(session: Session, public_id: str) -> Share | None:
    """The approved share behind a public link, or None."""
    share = session.scalar(select(Share).where(Share.public_id == public_id))
    return share if share is not None and share.state is ShareState.approved else None
