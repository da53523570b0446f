"""The ``video`` object the Videos API answers with, made from a task.

Statuses map ``queued / running / succeeded / failed | cancelled`` to ``queued /
in_progress / completed / failed`` (a cancelled video is failed with code ``cancelled``).
"""

from __future__ import annotations

import math
from typing import Literal

from fastapi import Response
from pydantic import BaseModel
from sqlalchemy.orm import object_session

from cinegen.api import tasks
from cinegen.api.openai.pages import CursorPage
from cinegen.config import Settings
from cinegen.spec import GenerationSpec, Operation
from cinegen.store.models import Generation, Task, TaskState

STATUS = {
    TaskState.queued: "queued",
    TaskState.running: "in_progress",
    TaskState.succeeded: "completed",
    TaskState.failed: "failed",
    TaskState.cancelled: "failed",
}


class VideoError(BaseModel):
    code: str
    message: str


class Video(BaseModel):
    id: str
    object: Literal["video"] = "video"
    created_at: int
    completed_at: int | None
    expires_at: int | None
    error: VideoError | None
    model: str
    progress: int
    prompt: str | None
    remixed_from_video_id: str | None
    seconds: str
    size: str
    status: Literal["queued", "in_progress", "completed", "failed"]


class VideoList(CursorPage[Video]):
    """A page of the caller's videos."""


class VideoDeleted(BaseModel):
    id: str
    deleted: bool = True
    object: Literal["video.deleted"] = "video.deleted"


def video(task: Task, settings: Settings) -> Video:
    spec = tasks.spec_of(task)
    error = None
    if task.state is TaskState.failed:
        error = VideoError(code=task.error_code or "failed", message=task.error_message or "")
    elif task.state is TaskState.cancelled:
        error = VideoError(code="cancelled", message="the video was cancelled")
    return Video(
        id=task.id,
        created_at=int(task.created_at.timestamp()),
        completed_at=int(task.finished_at.timestamp()) if task.finished_at else None,
        expires_at=int(task.expires_at.timestamp()) if task.expires_at else None,
        error=error,
        model=spec.model or settings.default_model,
        progress=math.floor(task.progress * 100),
        prompt=spec.prompt,
        remixed_from_video_id=_remixed_from(task, spec),
        seconds=f"{spec.seconds:g}",
        size=f"{spec.width}x{spec.height}",
        status=STATUS[task.state],  # type: ignore[arg-type]
    )


def _remixed_from(task: Task, spec: GenerationSpec) -> str | None:
    """The video a remix (or an edit of a completed video) started from."""
    session = object_session(task)
    if spec.operation is not Operation.remix or spec.source is None or session is None:
        return None
    generation = session.get(Generation, spec.source.generation_ids[0])
    return generation.task_id if generation is not None else None


def poll_hint(response: Response, settings: Settings) -> None:
    response.headers["openai-poll-after-ms"] = str(settings.poll_after_ms)
