"""What a route needs, as named dependencies: ``SessionDep``, ``SettingsDep``, ``CurrentAccount``.

Authentication reads the bearer key on every request (no cache), so a revoked key fails on
its very next request.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.orm import Session

from cinegen.api.errors import ApiError
from cinegen.config import Settings
from cinegen.store.keys import authenticate
from cinegen.store.models import Account


def get_session(request: Request) -> Iterator[Session]:
    with request.app.state.sessions() as session:
        yield session


def get_settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


SessionDep = Annotated[Session, Depends(get_session)]
SettingsDep = Annotated[Settings, Depends(get_settings)]


def current_account(request: Request, session: SessionDep) -> Account:
    header = request.headers.get("authorization", "")
    scheme, _, secret = header.partition(" ")
    if scheme.lower() != "bearer" or not secret.strip():
        raise ApiError(
            401,
            "no API key: send 'Authorization: Bearer <key>' "
            "(an operator creates keys with `cinegen keys create --name NAME`)",
            code="missing_api_key",
        )
    account = authenticate(session, secret.strip())
    if account is None:
        raise ApiError(401, "the API key is unknown or revoked", code="invalid_api_key")
    return account


CurrentAccount = Annotated[Account, Depends(current_account)]
