"""Admin routes (admin keys only): the all-access switch and the audit log.

``POST /v1/admin/access/suspend`` refuses every non-admin request from the very next one on
and holds their queued tasks; ``POST /v1/admin/access/resume`` opens access again;
``GET /v1/admin/access`` says which it is. ``GET /v1/admin/audit`` pages through the log,
oldest or newest first.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field

from cinegen.api.deps import AdminAccount, SessionDep
from cinegen.api.errors import ERROR_RESPONSES
from cinegen.store import access, audit
from cinegen.store.models import AuditEvent

router = APIRouter(prefix="/v1/admin", tags=["admin"], responses=ERROR_RESPONSES)


class Access(BaseModel):
    suspended: bool
    since: datetime | None = None
    actor: str | None = None
    reason: str | None = None


class SuspendRequest(BaseModel):
    model_config = {"extra": "forbid"}

    reason: Annotated[str, Field(min_length=1, max_length=2000)]


class AuditLine(BaseModel):
    id: int
    at: datetime
    actor: str
    action: str
    target: str | None
    detail: dict[str, Any] | None


class AuditPage(BaseModel):
    object: str = "list"
    data: list[AuditLine]
    last_id: int | None
    has_more: bool


def _access(session: SessionDep) -> Access:
    switch = access.suspension(session)
    if switch is None:
        return Access(suspended=False)
    return Access(suspended=True, since=switch.since, actor=switch.actor, reason=switch.reason)


@router.get("/access", response_model=Access)
def get_access(admin: AdminAccount, session: SessionDep) -> Access:
    return _access(session)


@router.post("/access/suspend", response_model=Access)
def suspend_access(body: SuspendRequest, admin: AdminAccount, session: SessionDep) -> Access:
    access.suspend(session, admin.id, body.reason)
    return _access(session)


@router.post("/access/resume", response_model=Access)
def resume_access(admin: AdminAccount, session: SessionDep) -> Access:
    access.resume(session, admin.id)
    return _access(session)


def _line(event: AuditEvent) -> AuditLine:
    return AuditLine(
        id=event.id,
        at=event.at,
        actor=event.actor,
        action=event.action,
        target=event.target,
        detail=event.detail,
    )


@router.get("/audit", response_model=AuditPage)
def read_audit(
    admin: AdminAccount,
    session: SessionDep,
    after: Annotated[int, Query(ge=0)] = 0,
    before: Annotated[int | None, Query(ge=1)] = None,
    order: Literal["oldest", "newest"] = "oldest",
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> AuditPage:
    """The log oldest first, ``limit`` lines after line ``after``; or, with ``order=newest``,
    newest first, ``limit`` lines before line ``before`` (default: from the end)."""
    if order == "newest":
        lines = audit.read_back(session, before, limit + 1)
    else:
        lines = audit.read(session, after, limit + 1)
    page = [_line(e) for e in lines[:limit]]
    return AuditPage(data=page, last_id=page[-1].id if page else None, has_more=len(lines) > limit)
