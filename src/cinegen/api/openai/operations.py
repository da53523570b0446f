"""The OpenAI Videos API's remix, edits and extensions: new videos from an earlier one.

``remix`` (a completed video), ``edits`` (a completed video or an uploaded file) and
``extensions`` queue the engine's ``remix`` and ``extend`` operations on the source's first
variant, inheriting its model, size, rate and length. The SDK (3.54) sends edits and
extensions as multipart and can only send a file there; ``{"video": {"id": …}}`` arrives as
JSON from other clients (or as ``video[id]`` in a form).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Header, Request, Response
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel, field_validator
from sqlalchemy.orm import Session

from cinegen.api import tasks
from cinegen.api.bodies import BodyRoute
from cinegen.api.deps import CurrentKey, SessionDep, SettingsDep
from cinegen.api.errors import ERROR_RESPONSES, ApiError
from cinegen.api.openai.request_body import hand_read_body, read_body
from cinegen.api.openai.video_create import DEFAULTS, RENAME
from cinegen.api.openai.video_fields import chosen, prompt_of, seconds_of
from cinegen.api.openai.video_objects import STATUS, Video, poll_hint, video
from cinegen.api.uploads import remove_upload, store_video
from cinegen.config import Settings
from cinegen.media.encode import probe
from cinegen.spec import DEFAULT_FPS, frames_for
from cinegen.spec_parts import not_boolean
from cinegen.store.models import Account, ApiKey, Task, TaskState, Upload

router = APIRouter(
    prefix="/v1/videos",
    tags=["OpenAI Videos API"],
    responses=ERROR_RESPONSES,
    route_class=BodyRoute,
)

# ``model`` (any registered model; by default the source's), ``strength`` (how much of the
# source a remix or edit changes: subtle, mild, strong or 0..1) and ``seed`` are cinegen's
# additions.
REMIX_FIELDS = {"prompt", "model", "strength", "seed"}
EDIT_FIELDS = {"prompt", "video", "model", "strength", "seed"}
EXTEND_FIELDS = {"prompt", "seconds", "video", "model", "seed"}
INHERITED = {"model", "style", "width", "height", "fps", "n_frames"}
OPERATION_RENAME = {**RENAME, "source": "video", "source.strength": "strength"}


class VideoReference(BaseModel):
    id: str


class _Extension(BaseModel):
    prompt: str
    seconds: str  # to add
    model: str | None = None
    seed: int | None = None


class _Edit(BaseModel):
    prompt: str
    model: str | None = None
    strength: float | str | None = None
    seed: int | None = None


class VideoEdit(_Edit):
    """``POST /v1/videos/edits`` as JSON: a completed video by id."""

    video: VideoReference


class VideoEditForm(_Edit):
    """``POST /v1/videos/edits`` as multipart: a video file (MP4, MOV, WebM, Matroska)."""

    video: bytes


class VideoExtend(_Extension):
    """``POST /v1/videos/extensions`` as JSON: ``seconds`` to add to a completed video."""

    video: VideoReference


class VideoExtendForm(_Extension):
    """``POST /v1/videos/extensions`` as multipart: ``seconds`` to add to a video file."""

    video: bytes


HAND_READ_BODIES: tuple[type[BaseModel], ...] = (
    VideoEdit,
    VideoEditForm,
    VideoExtend,
    VideoExtendForm,
)


@dataclass(frozen=True)
class _Source:
    """The video an operation works on: its id for ``source.generation_ids`` and what the new
    video inherits from it (model, size, rate, length). An uploaded file is kept for this
    request only: ``upload`` is removed again if the request is refused."""

    id: str
    fields: dict[str, Any]
    upload: Upload | None = None


class VideoRemix(BaseModel):
    """``POST /v1/videos/{video_id}/remix``."""

    model_config = {"extra": "forbid"}

    prompt: str
    model: str | None = None
    strength: float | str | None = None
    seed: int | None = None

    @field_validator("strength", "seed", mode="before")
    @classmethod
    def _numbers(cls, value: Any) -> Any:
        return not_boolean(value)


@router.post("/{video_id}/remix", response_model=Video)
def remix_video(
    video_id: str,
    body: VideoRemix,
    request: Request,
    response: Response,
    key: CurrentKey,
    session: SessionDep,
    settings: SettingsDep,
    idempotency_key: Annotated[str | None, Header(max_length=255)] = None,
) -> Video:
    """A remix of one of the caller's completed videos: the new prompt over its motion and
    layout, at its size and length."""
    fields = body.model_dump(exclude_none=True)
    idempotency = tasks.Idempotency.of(idempotency_key, {**fields, "remix_of": video_id})
    earlier = tasks.replayed(session, key.account, idempotency)
    if earlier is None:
        source = _completed(session, key.account, video_id, param="video_id")
        earlier = _operate(
            session,
            key,
            source,
            spec=_remix(fields),
            idempotency=idempotency,
            settings=settings,
            data_dir=request.app.state.data_dir,
        )
    poll_hint(response, settings)
    return video(earlier, settings)


@router.post(
    "/edits", response_model=Video, openapi_extra=hand_read_body("VideoEdit", "VideoEditForm")
)
async def edit_video(
    request: Request,
    response: Response,
    key: CurrentKey,
    session: SessionDep,
    settings: SettingsDep,
    idempotency_key: Annotated[str | None, Header(max_length=255)] = None,
) -> Video:
    """A remix of any video: a completed one (``video: {"id"}``) or an uploaded file."""
    return await _on_video(
        request,
        response,
        known=EDIT_FIELDS,
        operation=_remix,
        key=key,
        session=session,
        settings=settings,
        idempotency_key=idempotency_key,
    )


@router.post(
    "/extensions",
    response_model=Video,
    openapi_extra=hand_read_body("VideoExtend", "VideoExtendForm"),
)
async def extend_video(
    request: Request,
    response: Response,
    key: CurrentKey,
    session: SessionDep,
    settings: SettingsDep,
    idempotency_key: Annotated[str | None, Header(max_length=255)] = None,
) -> Video:
    """A video continued by ``seconds`` under a new prompt; the answer's ``seconds`` is the
    stitched whole."""
    return await _on_video(
        request,
        response,
        known=EXTEND_FIELDS,
        operation=_extend,
        key=key,
        session=session,
        settings=settings,
        idempotency_key=idempotency_key,
    )


# An operation: the request's fields (and its source, once known) to spec fields.
ToSpec = Callable[[dict[str, Any], "_Source | None"], dict[str, Any]]


async def _on_video(
    request: Request,
    response: Response,
    *,
    known: set[str],
    operation: ToSpec,
    key: ApiKey,
    session: Session,
    settings: Settings,
    idempotency_key: str | None,
) -> Video:
    """An edit or extension as either body brings it: read, queue, answer."""
    fields, clip = await read_body(request, known, "video")
    task = await run_in_threadpool(
        _from_video,
        session,
        key,
        fields,
        clip=clip,
        operation=operation,
        idempotency=tasks.Idempotency.of(idempotency_key, fields, *([clip] if clip else [])),
        settings=settings,
        data_dir=request.app.state.data_dir,
    )
    poll_hint(response, settings)
    return video(task, settings)


def _remix(fields: dict[str, Any], source: _Source | None = None) -> dict[str, Any]:
    spec = {"operation": "remix", "prompt": prompt_of(fields), **chosen(fields, "model")}
    return {**spec, **chosen(fields, "strength"), **chosen(fields, "seed")}


def _extend(fields: dict[str, Any], source: _Source | None = None) -> dict[str, Any]:
    if fields.get("seconds") is None:
        raise ApiError(
            400,
            'seconds is required: how many seconds to add, e.g. "4"',
            code="missing_required_parameter",
            param="seconds",
        )
    added = seconds_of(fields["seconds"])
    spec = {"operation": "extend", "prompt": prompt_of(fields), **chosen(fields, "model")}
    spec.update(chosen(fields, "seed"))
    if source is not None:
        fps = source.fields["fps"]
        spec["n_frames"] = source.fields["n_frames"] + frames_for(added, fps)
    return spec


def _from_video(
    session: Session,
    key: ApiKey,
    fields: dict[str, Any],
    *,
    clip: bytes | None,
    operation: ToSpec,
    idempotency: tasks.Idempotency | None,
    settings: Settings,
    data_dir: Path,
) -> Task:
    account = key.account
    earlier = tasks.replayed(session, account, idempotency)  # before keeping any upload
    if earlier is not None:
        return earlier
    operation(fields, None)  # the request's own mistakes first, before any file is kept
    reference = fields.get("video")
    if clip is not None:
        source = _uploaded(session, account, clip, data_dir=data_dir)
    elif isinstance(reference, dict) and isinstance(reference.get("id"), str):
        source = _completed(session, account, reference["id"], param="video")
    else:
        given = "is required" if reference is None else "must be"
        raise ApiError(
            400,
            f'video {given}: a video file, or {{"id": …}} naming a completed video',
            code="missing_required_parameter" if reference is None else "invalid_value",
            param="video",
        )
    return _operate(
        session,
        key,
        source,
        spec=operation(fields, source),
        idempotency=idempotency,
        settings=settings,
        data_dir=data_dir,
    )


def _completed(session: Session, account: Account, video_id: str, *, param: str) -> _Source:
    task = tasks.owned(session, account, video_id)
    if task.state is not TaskState.succeeded:
        raise ApiError(
            409,
            f"video {video_id} is {STATUS[task.state]}; only a completed video can be the "
            "source (poll it until status is completed)",
            code="not_ready",
            param=param,
        )
    spec = tasks.spec_of(task)
    return _Source(task.generations[0].id, spec.model_dump(include=INHERITED, exclude_none=True))


def _uploaded(session: Session, account: Account, clip: bytes, *, data_dir: Path) -> _Source:
    upload = store_video(session, account, clip, data_dir=data_dir, param="video")
    info = probe(data_dir / upload.path)
    fields = {
        "model": DEFAULTS["model"],
        "width": info.width - info.width % 2,
        "height": info.height - info.height % 2,
        "fps": info.fps or DEFAULT_FPS,
        "n_frames": info.n_frames,
    }
    return _Source(upload.id, fields, upload)


def _operate(
    session: Session,
    key: ApiKey,
    source: _Source,
    *,
    spec: dict[str, Any],
    idempotency: tasks.Idempotency | None,
    settings: Settings,
    data_dir: Path,
) -> Task:
    """Queue ``spec`` (an operation's fields) on ``source``, inheriting what it leaves out."""
    strength = spec.pop("strength", None)
    fields = {**source.fields, **spec}
    fields["source"] = {"generation_ids": [source.id]}
    if strength is not None:
        fields["source"]["strength"] = strength
    try:
        task = tasks.create(
            session,
            key.account,
            fields,
            settings=settings,
            idempotency=idempotency,
            rename=OPERATION_RENAME,
            key=key,
        )
    except Exception:
        if source.upload is not None:  # refused (or failed): the file was for this request only
            remove_upload(session, data_dir, source.upload)
        raise
    if source.upload is not None and task.spec["source"]["generation_ids"] != [source.id]:
        remove_upload(session, data_dir, source.upload)  # a concurrent retry's task won
    return task
