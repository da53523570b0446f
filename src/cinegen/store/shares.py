"""Sharing, reviewed: an owner asks to share one of their generations; with review on it
waits for a reviewer, who approves (it gets a public page at an unguessable id) or rejects
(it is never shared). With review off, asking shares at once. Every step is audited."""

from __future__ import annotations

import secrets

from sqlalchemy import select
from sqlalchemy.orm import Session

from cinegen.errors import CinegenError
from cinegen.store import audit
from cinegen.store.models import Generation, Share, ShareState, utcnow

NO_REVIEW = "no review"  # who decided a share when the deployment reviews nothing


class AlreadyDecided(CinegenError):
    """A review decision on a share that is not waiting for one."""


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
    audit.record(session, actor, "share.request", target=generation.id,
                 detail={"state": share.state.value})  # fmt: skip
    session.commit()
    return share


def decide(session: Session, share: Share, reviewer: str, approve: bool, reason: str) -> Share:
    """A reviewer's decision on a pending share."""
    if share.state is not ShareState.pending:
        raise AlreadyDecided(
            f"generation {share.generation_id} is already {share.state.value} "
            f"(by {share.decided_by}); a decision is final"
        )
    if approve:
        _approve(share, reviewer)
    else:
        share.state, share.decided_by, share.decided_at = ShareState.rejected, reviewer, utcnow()
    share.reason = reason or None
    action = "review.approve" if approve else "review.reject"
    audit.record(session, reviewer, action, target=share.generation_id,
                 detail={"reason": reason} if reason else None)  # fmt: skip
    session.commit()
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
