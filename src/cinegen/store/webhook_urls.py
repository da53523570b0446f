"""Where an account's webhook endpoints may point: under the deployment's URL prefixes
(``Settings.webhook_urls``, open to every account) or under one the operator approved for
that account alone (``cinegen admin webhooks allow``), so that one customer's receiver is
not open to every other account's endpoints. Every change goes in the audit log."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session

from cinegen.config import webhook_prefixes
from cinegen.store import audit
from cinegen.store.models import Account, WebhookUrlApproval, new_id


def prefixes(session: Session, account_id: str, deployment: Sequence[str]) -> list[str]:
    """The prefixes ``account_id``'s endpoints may lie under: the deployment's, then its own."""
    own = session.scalars(
        select(WebhookUrlApproval.prefix)
        .where(WebhookUrlApproval.account_id == account_id)
        .order_by(WebhookUrlApproval.created_at)
    ).all()
    return [*deployment, *(p for p in own if p not in deployment)]


def allow(session: Session, account_name: str, prefix: str, *, actor: str) -> bool:
    """Approve ``prefix`` for the account named ``account_name``; False if it already was.
    KeyError for an unknown account, ValueError for a prefix that is not an http(s) URL."""
    account = _account(session, account_name)
    webhook_prefixes.check(prefix)
    if prefix in prefixes(session, account.id, ()):
        return False
    session.add(WebhookUrlApproval(id=new_id("wua"), account_id=account.id, prefix=prefix,
                                   approved_by=actor))  # fmt: skip
    audit.record(session, actor, "webhook_url.allow", account.id, {"prefix": prefix})
    session.commit()
    return True


def disallow(session: Session, account_name: str, prefix: str, *, actor: str) -> None:
    """Withdraw ``prefix`` from the account named ``account_name``: its endpoints under it
    receive nothing more (``jobs.webhooks.Courier``). KeyError if it was not approved."""
    account = _account(session, account_name)
    found = session.scalars(
        select(WebhookUrlApproval).where(
            WebhookUrlApproval.account_id == account.id, WebhookUrlApproval.prefix == prefix
        )
    ).first()
    if found is None:
        raise KeyError(f"{prefix!r} is not approved for {account_name!r}")
    session.delete(found)
    audit.record(session, actor, "webhook_url.disallow", account.id, {"prefix": prefix})
    session.commit()


def listing(session: Session) -> list[tuple[str, WebhookUrlApproval]]:
    """Every approval with its account's name, by account then age."""
    rows = session.execute(
        select(Account.name, WebhookUrlApproval)
        .join(Account, Account.id == WebhookUrlApproval.account_id)
        .order_by(Account.name, WebhookUrlApproval.created_at)
    ).all()
    return [(name, approval) for name, approval in rows]


def _account(session: Session, name: str) -> Account:
    account = session.scalars(select(Account).where(Account.name == name)).first()
    if account is None:
        raise KeyError(f"no account named {name!r} (`cinegen keys list` shows them)")
    return account
