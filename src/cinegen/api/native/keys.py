"""API keys over HTTP (admin keys only), as ``cinegen keys`` offers them on the command line.

``GET /v1/admin/keys`` lists every key, never a secret; ``POST /v1/admin/keys`` makes one
and answers its secret this once (only its hash is stored); ``POST …/{key_id}/revoke``
refuses the key's very next request; ``PUT …/{key_id}/quota`` gives a key its own limits
over its role's (``null`` or ``{}``: the role's again). Each change is audited with the
admin's account id as its actor. A key is named by its id or by the prefix listings show.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter
from pydantic import BaseModel, Field
from sqlalchemy import select

from cinegen.api.deps import AdminAccount, SessionDep, SettingsDep
from cinegen.api.errors import ERROR_RESPONSES, ApiError, not_found
from cinegen.config import Quota, Settings
from cinegen.store.keys import create_key, find_key, list_keys, revoke_key, set_quota
from cinegen.store.models import Account, ApiKey, Role

router = APIRouter(prefix="/v1/admin/keys", tags=["admin"], responses=ERROR_RESPONSES)

Name = Annotated[str, Field(min_length=1, max_length=200)]


class KeyCreate(BaseModel):
    """A new key: for the account named ``account`` (default: ``name``), made with ``role``
    if new; an existing account keeps its role, which ``role`` must then repeat."""

    model_config = {"extra": "forbid"}

    name: Name
    account: Name | None = None
    role: Role = Role.artist


class StoredKey(BaseModel):
    """A key as the server holds it: never its secret."""

    id: str
    prefix: str  # the secret's first characters, to tell keys apart
    name: str
    account: str  # the account's name
    account_id: str
    role: Role
    created_at: datetime
    revoked_at: datetime | None
    quota: Quota | None  # the key's own limits over its role's; None: the role's
    role_quota: Quota  # its role's limits (settings); unset fields: no limit


class CreatedKey(StoredKey):
    secret: str  # the bearer key itself: shown in this answer only


class KeyList(BaseModel):
    object: str = "list"
    data: list[StoredKey]


def _stored(key: ApiKey, settings: Settings) -> StoredKey:
    role = key.account.role
    return StoredKey(
        id=key.id,
        prefix=key.prefix,
        name=key.name,
        account=key.account.name,
        account_id=key.account.id,
        role=role,
        created_at=key.created_at,
        revoked_at=key.revoked_at,
        quota=Quota.model_validate(key.quota) if key.quota else None,
        role_quota=settings.quotas.get(role.value, Quota()),
    )


def _key(session: SessionDep, key_id: str) -> ApiKey:
    try:
        return find_key(session, key_id)
    except KeyError:
        raise not_found("API key", key_id) from None


@router.get("", response_model=KeyList)
def list_all(admin: AdminAccount, session: SessionDep, settings: SettingsDep) -> KeyList:
    """Every key, oldest first, revoked ones too."""
    return KeyList(data=[_stored(key, settings) for key in list_keys(session)])


@router.post("", response_model=CreatedKey, status_code=201)
def create(
    body: KeyCreate, admin: AdminAccount, session: SessionDep, settings: SettingsDep
) -> CreatedKey:
    """Make a key and answer its secret, once."""
    account_name = body.account or body.name
    try:
        new = create_key(session, body.name, account=account_name, role=body.role, actor=admin.id)
    except ValueError:  # the account exists with another role
        owner = session.scalar(select(Account).where(Account.name == account_name))
        held = owner.role.value if owner is not None else "another"
        raise ApiError(
            400,
            f"account {account_name!r} exists with role {held}: give role {held!r} or "
            f"another account (roles: {', '.join(r.value for r in Role)})",
            code="invalid_value",
            param="role",
        ) from None
    return CreatedKey(**_stored(new.key, settings).model_dump(), secret=new.secret)


@router.post("/{key_id}/revoke", response_model=StoredKey)
def revoke(
    key_id: str, admin: AdminAccount, session: SessionDep, settings: SettingsDep
) -> StoredKey:
    """Revoke a key: its next request is refused. Revoking twice changes nothing."""
    key = revoke_key(session, _key(session, key_id).id, actor=admin.id)
    return _stored(key, settings)


@router.put("/{key_id}/quota", response_model=StoredKey)
def put_quota(
    key_id: str,
    admin: AdminAccount,
    session: SessionDep,
    settings: SettingsDep,
    body: Quota | None = None,
) -> StoredKey:
    """Set the key's own limits, each over its role's; unset fields (or a ``null`` body)
    leave the role's."""
    limits = body.model_dump(exclude_none=True) if body is not None else None
    key = set_quota(session, _key(session, key_id).id, limits or None, actor=admin.id)
    return _stored(key, settings)
