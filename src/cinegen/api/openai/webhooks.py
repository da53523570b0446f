"""The OpenAI API's webhook endpoints: where an account's events go (``jobs/webhooks.py``).

``client.webhooks.create/retrieve/update/list/delete/rotate_secret/test`` and
``client.webhooks.event_types.list`` work unmodified. A URL must lie under one of the
prefixes the operator approved (``CINEGEN_WEBHOOK_URLS`` for every account, ``cinegen admin
webhooks allow`` for one: ``store/webhook_urls.py``): an account cannot make the server
send requests anywhere else. Another account's endpoint answers 404.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated, Literal

from fastapi import APIRouter, Query
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import select
from sqlalchemy.orm import Session

from cinegen.api.deps import CurrentAccount, SessionDep, SettingsDep
from cinegen.api.errors import ERROR_RESPONSES, ApiError
from cinegen.api.openai.pages import CursorPage
from cinegen.config import Settings, webhook_prefixes
from cinegen.jobs import webhooks
from cinegen.store import audit, webhook_urls
from cinegen.store.models import Account, WebhookEndpoint, new_id, utcnow

router = APIRouter(tags=["OpenAI webhooks"], responses=ERROR_RESPONSES)

EventType = webhooks.EventType
EventTypes = Annotated[list[EventType], Field(min_length=1, max_length=len(webhooks.EVENT_TYPES))]
Name = Annotated[str, Field(min_length=1, max_length=200)]
Url = Annotated[str, Field(min_length=1, max_length=2000)]
KEEP_OLD_SECRET = timedelta(hours=24)
# The object a test delivery names, per kind of event.
SAMPLE_IDS = {"video": "video_test", "batch": "batch_test"}


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class EndpointCreate(_Body):
    event_types: EventTypes
    name: Name
    url: Url


class EndpointUpdate(_Body):
    event_types: EventTypes | None = None
    name: Name | None = None
    url: Url | None = None


class RotateSecret(_Body):
    keep_old_secret_active_for_24_hours: bool = False


class TestDelivery(_Body):
    event_type: EventType


class Endpoint(BaseModel):
    id: str
    object: Literal["webhook_endpoint"] = "webhook_endpoint"
    created_at: int
    updated_at: int
    event_types: list[str]
    name: str
    url: str
    signing_secret_hint: str


class EndpointWithSecret(Endpoint):
    """Only a create and a rotation answer the secret itself; it is not shown again."""

    signing_secret: str


class EndpointList(CursorPage[Endpoint]):
    """A page of the caller's webhook endpoints."""


class EndpointDeleted(BaseModel):
    id: str
    deleted: bool = True
    object: Literal["webhook_endpoint.deleted"] = "webhook_endpoint.deleted"


class TestResult(BaseModel):
    event_type: str
    object: Literal["webhook_endpoint.test"] = "webhook_endpoint.test"
    status_code: int
    success: Literal[True] = True
    webhook_endpoint_id: str


class EventTypeList(BaseModel):
    object: Literal["list"] = "list"
    data: list[str]


def _shown(endpoint: WebhookEndpoint) -> Endpoint:
    return Endpoint(
        id=endpoint.id,
        created_at=int(endpoint.created_at.timestamp()),
        updated_at=int(endpoint.updated_at.timestamp()),
        event_types=list(endpoint.event_types),
        name=endpoint.name,
        url=endpoint.url,
        signing_secret_hint=webhooks.secret_hint(endpoint.secret),
    )


def _with_secret(endpoint: WebhookEndpoint) -> EndpointWithSecret:
    return EndpointWithSecret(**_shown(endpoint).model_dump(), signing_secret=endpoint.secret)


def approved(url: str, session: Session, account: Account, settings: Settings) -> str:
    """``url`` if it lies under a prefix the operator approved for this account (the
    deployment's or its own), else an error naming them."""
    allowed = webhook_urls.prefixes(session, account.id, settings.webhook_urls)
    if webhook_prefixes.covered(url, allowed):
        return url
    if not allowed:
        raise ApiError(
            403,
            "webhooks are off for this account: the server's operator lists the URL "
            "prefixes endpoints may use in CINEGEN_WEBHOOK_URLS, or approves some for one "
            "account (cinegen admin webhooks allow)",
            code="webhooks_off",
            param="url",
        )
    raise ApiError(
        400,
        f"url is not under a prefix this server's operator approved; allowed: {', '.join(allowed)}",
        code="invalid_value",
        param="url",
    )


def _owned(session: SessionDep, account: Account, endpoint_id: str) -> WebhookEndpoint:
    endpoint = session.get(WebhookEndpoint, endpoint_id)
    if endpoint is None or endpoint.account_id != account.id:
        raise ApiError(404, f"no webhook endpoint {endpoint_id}", code="not_found")
    return endpoint


@router.get("/v1/webhook_event_types", response_model=EventTypeList)
def list_event_types(account: CurrentAccount) -> EventTypeList:
    return EventTypeList(data=list(webhooks.EVENT_TYPES))


@router.post("/v1/webhook_endpoints", response_model=EndpointWithSecret)
def create_endpoint(
    body: EndpointCreate, account: CurrentAccount, session: SessionDep, settings: SettingsDep
) -> EndpointWithSecret:
    now = utcnow()
    endpoint = WebhookEndpoint(
        id=new_id("we"),
        account_id=account.id,
        name=body.name,
        url=approved(body.url, session, account, settings),
        event_types=list(dict.fromkeys(body.event_types)),
        secret=webhooks.new_secret(),
        created_at=now,
        updated_at=now,
    )
    session.add(endpoint)
    audit.record(session, account.id, "webhook.create", endpoint.id, {"url": endpoint.url})
    session.commit()
    return _with_secret(endpoint)


@router.get("/v1/webhook_endpoints", response_model=EndpointList)
def list_endpoints(
    account: CurrentAccount,
    session: SessionDep,
    after: str | None = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
) -> EndpointList:
    query = select(WebhookEndpoint).where(WebhookEndpoint.account_id == account.id)
    if after is not None:
        query = query.where(WebhookEndpoint.id > after)
    rows = session.scalars(query.order_by(WebhookEndpoint.id).limit(limit + 1)).all()
    data = [_shown(e) for e in rows[:limit]]
    return EndpointList.of(data, has_more=len(rows) > limit)


@router.get("/v1/webhook_endpoints/{endpoint_id}", response_model=Endpoint)
def retrieve_endpoint(endpoint_id: str, account: CurrentAccount, session: SessionDep) -> Endpoint:
    return _shown(_owned(session, account, endpoint_id))


@router.post("/v1/webhook_endpoints/{endpoint_id}", response_model=Endpoint)
def update_endpoint(
    endpoint_id: str,
    body: EndpointUpdate,
    account: CurrentAccount,
    session: SessionDep,
    settings: SettingsDep,
) -> Endpoint:
    endpoint = _owned(session, account, endpoint_id)
    changes = {
        "name": body.name,
        "url": None if body.url is None else approved(body.url, session, account, settings),
        "event_types": None if body.event_types is None else list(dict.fromkeys(body.event_types)),
    }
    changed = {k: v for k, v in changes.items() if v is not None and v != getattr(endpoint, k)}
    if changed:  # an unchanged update does not advance updated_at (the SDK's word)
        for field, value in changed.items():
            setattr(endpoint, field, value)
        endpoint.updated_at = utcnow()
        audit.record(session, account.id, "webhook.update", endpoint.id, {"changed": [*changed]})
        session.commit()
    return _shown(endpoint)


@router.delete("/v1/webhook_endpoints/{endpoint_id}", response_model=EndpointDeleted)
def delete_endpoint(
    endpoint_id: str, account: CurrentAccount, session: SessionDep
) -> EndpointDeleted:
    endpoint = _owned(session, account, endpoint_id)
    session.delete(endpoint)
    audit.record(session, account.id, "webhook.delete", endpoint_id)
    session.commit()
    return EndpointDeleted(id=endpoint_id)


@router.post("/v1/webhook_endpoints/{endpoint_id}/rotate_secret", response_model=EndpointWithSecret)
def rotate_secret(
    endpoint_id: str,
    account: CurrentAccount,
    session: SessionDep,
    body: RotateSecret | None = None,
) -> EndpointWithSecret:
    endpoint = _owned(session, account, endpoint_id)
    now = utcnow()
    keep = body is not None and body.keep_old_secret_active_for_24_hours
    endpoint.old_secret = endpoint.secret if keep else None
    endpoint.old_secret_expires_at = now + KEEP_OLD_SECRET if keep else None
    endpoint.secret = webhooks.new_secret()
    endpoint.updated_at = now
    audit.record(session, account.id, "webhook.rotate_secret", endpoint.id, {"kept": keep})
    session.commit()
    return _with_secret(endpoint)


@router.post("/v1/webhook_endpoints/{endpoint_id}/test", response_model=TestResult)
async def test_endpoint(
    endpoint_id: str,
    body: TestDelivery,
    account: CurrentAccount,
    session: SessionDep,
    settings: SettingsDep,
) -> TestResult:
    """Send one sample event now (not through the outbox) and answer the receiver's status."""
    endpoint = _owned(session, account, endpoint_id)
    approved(endpoint.url, session, account, settings)  # still: approvals can be withdrawn
    event_id, now = new_id("evt"), utcnow()
    sample = SAMPLE_IDS[body.event_type.split(".")[0]]
    payload = webhooks.event_body(event_id, body.event_type, sample, now).encode()
    headers = webhooks.signed_headers(endpoint, event_id, payload, now)
    timeout = settings.webhook_timeout_seconds
    try:
        status = await run_in_threadpool(webhooks.post, endpoint.url, payload, headers, timeout)
    except OSError as failure:
        raise ApiError(
            502, f"could not reach {endpoint.url}: {failure}", code="webhook_unreachable"
        ) from None
    return TestResult(
        event_type=body.event_type, status_code=status, webhook_endpoint_id=endpoint.id
    )
