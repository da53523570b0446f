"""Sharing and review over HTTP.

Owners: ``POST /v1/generations/{id}/share`` asks to share one of their generations (and
``GET`` says where that stands). With ``CINEGEN_REVIEW`` on it waits in the review queue:
reviewers (and admins) list it at ``GET /v1/review/queue``, watch it at
``GET /v1/review/{id}/content`` and ``POST /v1/review/{id}/approve`` or ``/reject``. An
approved generation has a public page, ``GET /share/{public_id}``, with the video and its
provenance, and nothing else does: an unknown, pending or rejected id is a 404. The public
pages are closed too while access is suspended.
"""

from __future__ import annotations

import html
import json
from datetime import datetime
from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import FileResponse, HTMLResponse
from pydantic import BaseModel, Field

from cinegen.api import tasks
from cinegen.api.deps import (
    CurrentAccount,
    ReviewerAccount,
    SessionDep,
    SettingsDep,
    refuse_while_suspended,
)
from cinegen.api.errors import ERROR_RESPONSES, JSON_ERROR_RESPONSES, ApiError, not_found
from cinegen.store import shares
from cinegen.store.models import Account, Generation, Share, TaskState
from cinegen.store.shares import AlreadyDecided

owners = APIRouter(prefix="/v1/generations", tags=["sharing"], responses=ERROR_RESPONSES)
review = APIRouter(prefix="/v1/review", tags=["review"], responses=ERROR_RESPONSES)
public = APIRouter(
    prefix="/share",
    tags=["public share pages"],
    responses=JSON_ERROR_RESPONSES,
    dependencies=[Depends(refuse_while_suspended)],
)


class ShareView(BaseModel):
    generation_id: str
    state: str  # pending, approved, rejected
    url: str | None  # the public page, once approved
    requested_at: datetime
    decided_at: datetime | None
    reason: str | None  # a reviewer's note, if any


class QueueItem(BaseModel):
    generation_id: str
    task_id: str
    account: str
    prompt: str
    requested_at: datetime
    content_url: str


class ReviewQueue(BaseModel):
    object: str = "list"
    data: list[QueueItem]


class Decision(BaseModel):
    model_config = {"extra": "forbid"}

    reason: Annotated[str, Field(max_length=2000)] = ""


def _view(request: Request, share: Share) -> ShareView:
    url = None
    if share.public_id is not None and share.state.value == "approved":
        url = str(request.url_for("share_page", public_id=share.public_id))
    return ShareView(
        generation_id=share.generation_id,
        state=share.state.value,
        url=url,
        requested_at=share.requested_at,
        decided_at=share.decided_at,
        reason=share.reason,
    )


def _owned_generation(session: SessionDep, account: Account, generation_id: str) -> Generation:
    generation = session.get(Generation, generation_id)
    if generation is None:
        raise not_found("generation", generation_id)
    task = tasks.owned(session, account, generation.task_id)  # 404 for others' too
    if task.state is not TaskState.succeeded:  # (a retry is rewriting it)
        raise ApiError(409, f"task {task.id} is {task.state.value}", code="not_ready")
    return generation


# --- owners ----------------------------------------------------------------------------------
@owners.post("/{generation_id}/share", response_model=ShareView)
def share_generation(
    generation_id: str,
    request: Request,
    account: CurrentAccount,
    session: SessionDep,
    settings: SettingsDep,
) -> ShareView:
    """Share a generation: at once, or once a reviewer approves (``CINEGEN_REVIEW``)."""
    generation = _owned_generation(session, account, generation_id)
    return _view(request, shares.request(session, generation, account.id, settings.review))


@owners.get("/{generation_id}/share", response_model=ShareView)
def get_share(
    generation_id: str, request: Request, account: CurrentAccount, session: SessionDep
) -> ShareView:
    generation = _owned_generation(session, account, generation_id)
    share = session.get(Share, generation.id)
    if share is None:
        raise not_found("share of generation", generation_id)
    return _view(request, share)


# --- reviewers -------------------------------------------------------------------------------
@review.get("/queue", response_model=ReviewQueue)
def review_queue(
    request: Request,
    reviewer: ReviewerAccount,
    session: SessionDep,
    limit: Annotated[int, Query(ge=1, le=100)] = 50,
) -> ReviewQueue:
    """Generations waiting for a decision, oldest request first."""
    items = [
        QueueItem(
            generation_id=share.generation_id,
            task_id=share.generation.task_id,
            account=share.account_id,
            prompt=share.generation.task.spec["prompt"],
            requested_at=share.requested_at,
            content_url=str(request.url_for("review_content", generation_id=share.generation_id)),
        )
        for share in shares.pending(session, limit)
    ]
    return ReviewQueue(data=items)


def _share(session: SessionDep, generation_id: str) -> Share:
    share = session.get(Share, generation_id)
    if share is None:
        raise not_found("share request for generation", generation_id)
    return share


@review.get(
    "/{generation_id}/content",
    name="review_content",
    response_class=FileResponse,
    responses={200: {"content": {"video/mp4": {}, "image/png": {}}}},
)
def review_content(
    generation_id: str, request: Request, reviewer: ReviewerAccount, session: SessionDep
) -> FileResponse:
    share = _share(session, generation_id)
    return _file(request, share.generation)


@review.post("/{generation_id}/approve", response_model=ShareView)
def approve(
    generation_id: str,
    request: Request,
    reviewer: ReviewerAccount,
    session: SessionDep,
    body: Decision | None = None,
) -> ShareView:
    return _decide(request, session, generation_id, reviewer=reviewer, approve=True, body=body)


@review.post("/{generation_id}/reject", response_model=ShareView)
def reject(
    generation_id: str,
    request: Request,
    reviewer: ReviewerAccount,
    session: SessionDep,
    body: Decision | None = None,
) -> ShareView:
    return _decide(request, session, generation_id, reviewer=reviewer, approve=False, body=body)


def _decide(
    request: Request,
    session: SessionDep,
    generation_id: str,
    *,
    reviewer: Account,
    approve: bool,
    body: Decision | None,
) -> ShareView:
    share = _share(session, generation_id)
    if share.account_id == reviewer.id:
        message = "a reviewer cannot decide on their own generation; ask another reviewer"
        raise ApiError(403, message, code="own_generation")
    try:
        decided = shares.decide(session, share, reviewer.id, approve, body.reason if body else "")
    except AlreadyDecided as exc:
        raise ApiError(409, str(exc), code="already_decided") from None
    return _view(request, decided)


# --- the public pages ------------------------------------------------------------------------
def _file(request: Request, generation: Generation) -> FileResponse:
    kind = "video" if "video" in generation.files else "image"
    path = request.app.state.data_dir / generation.files[kind]
    if not path.is_file():
        raise not_found("file of generation", generation.id)
    media_type = "video/mp4" if kind == "video" else "image/png"
    return FileResponse(path, media_type=media_type)


def _marks(data_dir: Path, generation: Generation) -> str:
    """What marks the file carries, as its sidecar records them."""
    try:
        record = json.loads((data_dir / generation.files["sidecar"]).read_text())
    except (KeyError, OSError, ValueError):
        return "unknown (its record is gone)"
    marks = []
    if record.get("visible_mark"):
        marks.append("a visible mark in the corner of every frame")
    if record.get("invisible_mark"):
        marks.append(
            "an invisible watermark naming this server and task "
            f"({record['invisible_mark']}), kept through re-encoding"
        )
    if record.get("c2pa"):
        marks.append("signed C2PA Content Credentials in the file")
    return "; ".join(marks) or "none"


def _approved(session: SessionDep, public_id: str) -> Share:
    share = shares.public(session, public_id)
    if share is None:  # unknown, pending and rejected alike
        raise not_found("shared video", public_id)
    return share


@public.get("/{public_id}", name="share_page", response_class=HTMLResponse)
def share_page(public_id: str, request: Request, session: SessionDep) -> HTMLResponse:
    """The shared video and its provenance."""
    share = _approved(session, public_id)
    generation, task = share.generation, share.generation.task
    spec = task.spec
    media = str(request.url_for("share_media", public_id=public_id))
    source = html.escape(media)
    if "video" in generation.files:
        player = f'<video controls loop playsinline src="{source}"></video>'
    else:
        player = f'<img alt="the shared image" src="{source}">'
    facts = {
        "Made by": "cinegen, an AI video generator: this is generated, not filmed",
        "Model": f"{spec.get('model') or 'default'} (seed {generation.seed})",
        "Prompt": spec.get("prompt", ""),
        "Size": f"{generation.width}×{generation.height}, {generation.n_frames} frames",
        "Created": f"{generation.created_at:%Y-%m-%d %H:%M} UTC",
        "Reviewed": f"approved {share.decided_at:%Y-%m-%d %H:%M} UTC"
        if share.decided_by != shares.NO_REVIEW and share.decided_at
        else "shared without review",
        "Marks": _marks(request.app.state.data_dir, generation),
    }
    rows = "".join(
        f"<tr><th>{html.escape(k)}</th><td>{html.escape(str(v))}</td></tr>"
        for k, v in facts.items()
    )
    page = f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>cinegen — shared video</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<link rel="icon" href="/static/icon.svg" type="image/svg+xml">
<style>body{{font:16px system-ui,sans-serif;max-width:960px;margin:2rem auto;padding:0 1rem}}
video,img{{width:100%;background:#000}}th{{text-align:left;padding-right:1rem;vertical-align:top}}
</style></head><body>
<main>{player}<h1>Provenance</h1><table>{rows}</table></main>
</body></html>"""
    return HTMLResponse(page)


@public.get(
    "/{public_id}/media",
    name="share_media",
    response_class=FileResponse,
    responses={200: {"content": {"video/mp4": {}, "image/png": {}}}},
)
def share_media(public_id: str, request: Request, session: SessionDep) -> FileResponse:
    return _file(request, _approved(session, public_id).generation)
