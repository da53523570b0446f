"""What a route needs, as named dependencies: ``SessionDep``, ``SettingsDep``,
``CurrentKey``, ``CurrentAccount``, ``ReviewerAccount``, ``AdminAccount``.

Authentication reads the bearer key and the all-access switch on every request (no cache),
so a revoked key, or any non-admin key once access is suspended, fails on its very next
request.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.orm import Session

from cinegen.api.auth_failures import AuthFailures
from cinegen.api.errors import ApiError
from cinegen.config import Settings
from cinegen.store.access import suspension
from cinegen.store.keys import live_key
from cinegen.store.models import Account, ApiKey, Role

SUSPENDED_RETRY_AFTER_S = 300


def get_session(request: Request) -> Iterator[Session]:
    with request.app.state.sessions() as session:
        yield session


def get_settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


SessionDep = Annotated[Session, Depends(get_session)]
SettingsDep = Annotated[Settings, Depends(get_settings)]


def current_key(request: Request, session: SessionDep) -> ApiKey:
    """The request's live API key. Too many failed attempts from one address, or with one
    key, make every request from it wait (429) for a while."""
    failures: AuthFailures = request.app.state.auth_failures
    client = request.client.host if request.client else "unknown"
    scheme, _, secret = request.headers.get("authorization", "").partition(" ")
    secret = secret.strip()
    failures.check(client, secret)
    if scheme.lower() != "bearer" or not secret:
        raise ApiError(
            401,
            "no API key: send 'Authorization: Bearer <key>' "
            "(an operator creates keys with `cinegen keys create --name NAME`)",
            code="missing_api_key",
        )
    key = live_key(session, secret)
    if key is None:
        failures.failed(client, secret)
        raise ApiError(401, "the API key is unknown or revoked", code="invalid_api_key")
    if key.account.role is not Role.admin:
        refuse_while_suspended(session)
    return key


def refuse_while_suspended(session: SessionDep) -> None:
    """A 503 while the all-access switch is on (for non-admins and for public pages)."""
    switch = suspension(session)
    if switch is not None:
        raise ApiError(
            503,
            f"access to this server is suspended by its operator (since "
            f"{switch.since:%Y-%m-%d %H:%M} UTC: {switch.reason}); queued tasks are kept "
            "and go on when access resumes",
            code="access_suspended",
            headers={"Retry-After": str(SUSPENDED_RETRY_AFTER_S)},
        )


CurrentKey = Annotated[ApiKey, Depends(current_key)]


def current_account(key: CurrentKey) -> Account:
    return key.account


CurrentAccount = Annotated[Account, Depends(current_account)]


def admin_account(account: CurrentAccount) -> Account:
    if account.role is not Role.admin:
        raise ApiError(
            403,
            f"this needs an admin key; this key's account is {account.role.value} "
            "(`cinegen keys create --role admin` makes one)",
            code="admin_only",
        )
    return account


AdminAccount = Annotated[Account, Depends(admin_account)]


def reviewer_account(account: CurrentAccount) -> Account:
    if account.role not in (Role.reviewer, Role.admin):
        raise ApiError(
            403,
            f"reviewing needs a reviewer or admin key; this key's account is {account.role.value}",
            code="reviewer_only",
        )
    return account


ReviewerAccount = Annotated[Account, Depends(reviewer_account)]
