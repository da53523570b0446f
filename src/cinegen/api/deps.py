"""What a route needs, as named dependencies: ``SessionDep``, ``SettingsDep``,
``CurrentKey``, ``CurrentAccount``, ``ReviewerAccount``, ``AdminAccount``.

Authentication reads the bearer key and the all-access switch on every request (no cache),
so a revoked key, or any non-admin key once access is suspended, fails on its very next
request. A browser signed in to the studio sends no key: its session cookie names one
(``store.studio_sessions``), read the same way on every request, and every change it asks
for (any method but GET, HEAD and OPTIONS) must repeat the session's CSRF token in the
``X-CSRF-Token`` header: a page of another site can neither read that token nor, with a
SameSite=Strict cookie, send the cookie at all.
"""

from __future__ import annotations

import hmac
from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.orm import Session

from cinegen.api.auth_failures import AuthFailures
from cinegen.api.errors import ApiError
from cinegen.config import Settings
from cinegen.store import studio_sessions
from cinegen.store.access import suspension
from cinegen.store.keys import live_key
from cinegen.store.models import Account, ApiKey, Role, StudioSession

SUSPENDED_RETRY_AFTER_S = 300
SESSION_COOKIE = "cinegen_session"
CSRF_HEADER = "x-csrf-token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


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
    client = client_address(request)
    scheme, _, secret = request.headers.get("authorization", "").partition(" ")
    secret = secret.strip()
    cookie = request.cookies.get(SESSION_COOKIE)
    # A studio session unless a bearer key is sent (a proxy's own Basic auth is not one).
    if cookie and (scheme.lower() != "bearer" or not secret):
        return studio_key(request, session, cookie)
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


def client_address(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def studio_key(request: Request, session: Session, token: str) -> ApiKey:
    """The key a studio session cookie stands for, checked as a bearer key is, plus the
    CSRF token on a change; the session is left in ``request.state.studio_session``."""
    failures: AuthFailures = request.app.state.auth_failures
    failures.check(client_address(request), token)
    studio = studio_sessions.find(session, token)
    if studio is None:
        failures.failed(client_address(request), token)
        raise ApiError(
            401,
            "your studio session has ended (signed out or expired): sign in again",
            code="session_ended",
        )
    key = studio.key
    if key.revoked_at is not None:
        raise ApiError(
            401, "the API key this session signed in with was revoked", code="invalid_api_key"
        )
    if request.method not in SAFE_METHODS:
        check_csrf(studio, request.headers.get(CSRF_HEADER, ""))
    if key.account.role is not Role.admin:
        refuse_while_suspended(session)
    request.state.studio_session = studio
    return key


def check_csrf(studio: StudioSession, sent: str) -> None:
    """A change asked for with a studio session repeats the session's CSRF token."""
    if not hmac.compare_digest(sent.encode(), studio.csrf.encode()):
        raise ApiError(
            403,
            "a change from the studio must carry its session's CSRF token (reload the page)",
            code="csrf_failed",
        )


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
