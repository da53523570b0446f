"""cinegen's own task routes: the task as it is stored, a cancel, and a live event stream.

``GET /v1/tasks/{id}/events`` is a server-sent-event stream of the task's recorded events
(state, progress, stage), oldest first, ending after the final state. It resumes after the
``Last-Event-ID`` a reconnecting client sends, so no event is missed or repeated; it ends
with an ``error`` event (code ``invalid_api_key`` or ``access_suspended``) once its key is
revoked or the operator suspends access. Every
model shows where denoising is heading in ``preview`` events: a small
JPEG as a ``data:`` URL in ``image``, about once a second while a task denoises.
"""

from __future__ import annotations

import asyncio
import base64
import json
import re
from collections.abc import AsyncIterator
from typing import Annotated, Any

from fastapi import APIRouter, Header, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import StreamingResponse
from pydantic import BaseModel
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from cinegen.api import tasks
from cinegen.api.deps import CurrentAccount, CurrentKey, SessionDep, refuse_while_suspended
from cinegen.api.errors import ERROR_RESPONSES, ApiError
from cinegen.progress import Stage
from cinegen.store.models import ApiKey, Role, Task, TaskEvent

router = APIRouter(prefix="/v1/tasks", tags=["cinegen tasks"], responses=ERROR_RESPONSES)

POLL_S = 0.2  # how often the stream looks for new events
KEEPALIVE_S = 15.0  # a comment line this often keeps proxies from closing a quiet stream


class TaskError(BaseModel):
    code: str
    message: str | None


class TaskView(BaseModel):
    id: str
    state: str
    progress: float
    stage: str
    attempts: int
    cancel_requested: bool
    error: TaskError | None
    created_at: str
    started_at: str | None
    finished_at: str | None
    expires_at: str | None
    spec: dict[str, Any]
    generations: list[dict[str, Any]]


def _iso(value: Any) -> str | None:
    return value.isoformat() if value is not None else None


def view(task: Task) -> TaskView:
    return TaskView(
        id=task.id,
        state=task.state.value,
        progress=task.progress,
        stage=task.stage,
        attempts=task.attempts,
        cancel_requested=task.cancel_requested,
        error=TaskError(code=task.error_code, message=task.error_message)
        if task.error_code
        else None,
        created_at=task.created_at.isoformat(),
        started_at=_iso(task.started_at),
        finished_at=_iso(task.finished_at),
        expires_at=_iso(task.expires_at),
        spec=task.spec,
        generations=[
            {
                "id": g.id,
                "index": g.index,
                "seed": g.seed,
                "files": sorted(set(g.files) - tasks.INTERNAL_FILES),
            }
            for g in task.generations
        ],
    )


@router.get("/{task_id}", response_model=TaskView)
def get_task(task_id: str, account: CurrentAccount, session: SessionDep) -> TaskView:
    return view(tasks.owned(session, account, task_id))


@router.post("/{task_id}/cancel", response_model=TaskView)
def cancel_task(task_id: str, account: CurrentAccount, session: SessionDep) -> TaskView:
    """Cancel a queued task at once, or stop a running one at its next denoising step."""
    return view(tasks.cancel_owned(session, account, task_id))


@router.get(
    "/{task_id}/events",
    response_class=StreamingResponse,
    responses={200: {"content": {"text/event-stream": {}}}},
)
def task_events(
    task_id: str,
    request: Request,
    key: CurrentKey,
    session: SessionDep,
    last_event_id: Annotated[str | None, Header()] = None,
) -> StreamingResponse:
    tasks.owned(session, key.account, task_id)  # 404 before the stream starts
    # ASCII digits only: str.isdigit() also takes "²", which int() refuses.
    after = (
        int(last_event_id) if last_event_id and re.fullmatch(r"[0-9]{1,18}", last_event_id) else 0
    )
    stream = _events(
        request, task_id, sessions=request.app.state.sessions, after=after, key_id=key.id
    )
    return StreamingResponse(
        stream,
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )


async def _events(
    request: Request, task_id: str, *, sessions: sessionmaker[Session], after: int, key_id: str
) -> AsyncIterator[str]:
    quiet = 0.0
    while not await request.is_disconnected():
        # A stream is a request that goes on: the key's revocation and the all-access switch
        # end it at the next poll, as they refuse the next request.
        refusal = await run_in_threadpool(_refusal, sessions, key_id)
        if refusal is not None:
            yield f"event: error\ndata: {json.dumps(refusal)}\n\n"
            return
        events, finished = await run_in_threadpool(_since, sessions, task_id, after)
        for event in events:
            after = event["id"]
            yield f"id: {event['id']}\nevent: {event['type']}\ndata: {json.dumps(event)}\n\n"
        if finished and not events:
            return
        if events:
            quiet = 0.0
        else:
            quiet += POLL_S
            if quiet >= KEEPALIVE_S:
                quiet = 0.0
                yield ": keep-alive\n\n"
        await asyncio.sleep(POLL_S)


def _refusal(sessions: sessionmaker[Session], key_id: str) -> dict[str, str] | None:
    """Why the stream's key may no longer listen (revoked, or access suspended), or None."""
    with sessions() as session:
        key = session.get(ApiKey, key_id)
        if key is None or key.revoked_at is not None:
            return {"code": "invalid_api_key", "message": "the API key was revoked"}
        if key.account.role is not Role.admin:
            try:
                refuse_while_suspended(session)
            except ApiError as exc:
                return {"code": exc.code, "message": exc.message}
    return None


def _since(
    sessions: sessionmaker[Session], task_id: str, after: int
) -> tuple[list[dict[str, Any]], bool]:
    """Events after id ``after``, and whether the task is over (or gone)."""
    with sessions() as session:
        rows = session.scalars(
            select(TaskEvent)
            .where(TaskEvent.task_id == task_id, TaskEvent.id > after)
            .order_by(TaskEvent.id)
        ).all()
        task = session.get(Task, task_id)
        finished = task is None or task.state.terminal
    return [_event(row) for row in rows], finished


def _event(row: TaskEvent) -> dict[str, Any]:
    event = {
        "id": row.id,
        "type": "state" if row.stage in (row.state.value, Stage.starting) else "progress",
        "task_id": row.task_id,
        "state": row.state.value,
        "progress": row.progress,
        "stage": row.stage,
        "message": row.message,
        "at": row.at.isoformat(),
    }
    if row.preview is not None:
        event["type"] = "preview"
        event["image"] = "data:image/jpeg;base64," + base64.b64encode(row.preview).decode()
    return event
