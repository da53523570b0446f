"""The OpenAI Batch API for videos, as ``client.batches.create / retrieve / list / cancel``
calls it: many ``POST /v1/videos`` requests in one JSONL file (``client.files.create``, purpose
``batch``), their results in an output and an error file (``client.files.content``).

Each line is queued as a single create would be, with the same validation, policy, quota and
answers (``batch_work.py``); its video is an ordinary one (``GET /v1/videos/{id}`` shows it
too). A batch is the caller's alone: another account's id is answered as an unknown one. One
not done when its completion window ends is ``expired``, its unfinished lines dropped.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query
from pydantic import BaseModel
from sqlalchemy import select
from sqlalchemy.orm import Session

from cinegen.api.deps import CurrentAccount, CurrentKey, SessionDep, SettingsDep
from cinegen.api.errors import ERROR_RESPONSES, not_found
from cinegen.api.openai import batch_create, batch_work
from cinegen.api.openai.pages import CursorPage
from cinegen.store.models import Account, Batch, BatchState

router = APIRouter(prefix="/v1/batches", tags=["OpenAI Batch API"], responses=ERROR_RESPONSES)


class BatchError(BaseModel):
    code: str | None
    line: int | None
    message: str | None
    param: str | None


class BatchErrors(BaseModel):
    object: Literal["list"] = "list"
    data: list[BatchError]


class BatchRequestCounts(BaseModel):
    total: int
    completed: int
    failed: int


Status = Literal[
    "validating", "failed", "in_progress", "finalizing", "completed", "expired", "cancelling",
    "cancelled",
]  # fmt: skip


class BatchObject(BaseModel):
    id: str
    object: Literal["batch"] = "batch"
    endpoint: str
    errors: BatchErrors | None
    input_file_id: str
    completion_window: str
    status: Status
    output_file_id: str | None
    error_file_id: str | None
    created_at: int
    in_progress_at: int | None
    expires_at: int | None
    finalizing_at: int | None
    completed_at: int | None
    failed_at: int | None
    expired_at: int | None = None
    cancelling_at: int | None
    cancelled_at: int | None
    request_counts: BatchRequestCounts
    metadata: dict[str, str] | None


class BatchList(CursorPage[BatchObject]):
    """A page of the caller's batches."""


class BatchCreate(BaseModel):
    input_file_id: str
    endpoint: str
    completion_window: str
    metadata: dict[str, str] | None = None
    # The SDK's ``{anchor: "created_at", seconds}``: its output and error files expire that
    # long after they are written. Without it they are kept until deleted.
    output_expires_after: dict[str, Any] | None = None


def _seconds(value: Any) -> int | None:
    return int(value.timestamp()) if value is not None else None


def batch_object(batch: Batch, counts: batch_work.Counts) -> BatchObject:
    times = ("created_at", "in_progress_at", "expires_at", "finalizing_at", "completed_at",
             "failed_at", "cancelling_at", "cancelled_at")  # fmt: skip
    errors = [BatchError(**e) for e in batch.errors] if batch.errors else None
    return BatchObject.model_validate(
        {
            "id": batch.id,
            "endpoint": batch.endpoint,
            "errors": BatchErrors(data=errors) if errors else None,
            "input_file_id": batch.input_file_id,
            "completion_window": batch.completion_window,
            "status": batch.state.value,
            "output_file_id": batch.output_file_id,
            "error_file_id": batch.error_file_id,
            "request_counts": BatchRequestCounts(**vars(counts)),
            "metadata": batch.meta,
            **{name: _seconds(getattr(batch, name)) for name in times},
            # It expired when its completion window ended: that moment, not when it was noticed.
            "expired_at": _seconds(batch.expires_at) if batch.state is BatchState.expired else None,
        }
    )


def owned(session: Session, account: Account, batch_id: str) -> Batch:
    """The caller's batch, or 404 (also for another account's)."""
    batch = session.get(Batch, batch_id)
    if batch is None or batch.account_id != account.id:
        raise not_found("batch", batch_id)
    return batch


@router.post("", response_model=BatchObject)
def create_batch(
    body: BatchCreate, key: CurrentKey, session: SessionDep, settings: SettingsDep
) -> BatchObject:
    batch = batch_create.create(
        session,
        key,
        input_file_id=body.input_file_id,
        endpoint=body.endpoint,
        completion_window=body.completion_window,
        metadata=body.metadata,
        output_expires_after=body.output_expires_after,
        settings=settings,
    )
    return batch_object(batch, batch_work.refresh(session, batch, settings=settings))


@router.get("/{batch_id}", response_model=BatchObject)
def retrieve_batch(
    batch_id: str, account: CurrentAccount, session: SessionDep, settings: SettingsDep
) -> BatchObject:
    batch = owned(session, account, batch_id)
    return batch_object(batch, batch_work.refresh(session, batch, settings=settings))


@router.post("/{batch_id}/cancel", response_model=BatchObject)
def cancel_batch(
    batch_id: str, account: CurrentAccount, session: SessionDep, settings: SettingsDep
) -> BatchObject:
    batch = owned(session, account, batch_id)
    return batch_object(batch, batch_work.cancel_batch(session, batch, settings=settings))


@router.get("", response_model=BatchList)
def list_batches(
    account: CurrentAccount,
    session: SessionDep,
    settings: SettingsDep,
    after: str | None = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
) -> BatchList:
    """The caller's batches, newest first."""
    query = select(Batch).where(Batch.account_id == account.id)
    if after is not None:
        cursor = owned(session, account, after)
        query = query.where(
            (Batch.created_at < cursor.created_at)
            | ((Batch.created_at == cursor.created_at) & (Batch.id < cursor.id))
        )
    rows = list(
        session.scalars(query.order_by(Batch.created_at.desc(), Batch.id.desc()).limit(limit + 1))
    )
    data = [
        batch_object(b, batch_work.refresh(session, b, settings=settings)) for b in rows[:limit]
    ]
    return BatchList.of(data, has_more=len(rows) > limit)
