"""The OpenAI Videos API, as the official ``openai`` SDK's ``client.videos`` calls it.

``POST /v1/videos`` takes JSON or multipart (the SDK switches to multipart when
``input_reference`` is a file). The routes live here; the create body and its path to a
task in ``video_create.py``, each field's reading in ``video_fields.py``, the ``video``
object answered in ``video_objects.py``, hand-read bodies in ``request_body.py``.
"""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Header, Query, Request, Response
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import FileResponse
from pydantic import BaseModel

from cinegen.api import tasks
from cinegen.api.bodies import BodyRoute
from cinegen.api.deps import CurrentAccount, CurrentKey, SessionDep, SettingsDep
from cinegen.api.errors import ERROR_RESPONSES, not_found
from cinegen.api.openai.request_body import hand_read_body, read_body
from cinegen.api.openai.video_create import CREATE_FIELDS, VideoCreate, VideoCreateForm, create_task
from cinegen.api.openai.video_objects import Video, VideoDeleted, VideoList, poll_hint, video
from cinegen.jobs.assets import delete_task

router = APIRouter(
    prefix="/v1/videos",
    tags=["OpenAI Videos API"],
    responses=ERROR_RESPONSES,
    route_class=BodyRoute,
)

# What each downloadable variant is sent as (each is the task's file of the same name).
CONTENT_TYPES = {"video": "video/mp4", "thumbnail": "image/webp", "spritesheet": "image/jpeg"}


HAND_READ_BODIES: tuple[type[BaseModel], ...] = (VideoCreate, VideoCreateForm)


@router.post(
    "", response_model=Video, openapi_extra=hand_read_body("VideoCreate", "VideoCreateForm")
)
async def create_video(
    request: Request,
    response: Response,
    key: CurrentKey,
    session: SessionDep,
    settings: SettingsDep,
    idempotency_key: Annotated[str | None, Header(max_length=255)] = None,
) -> Video:
    fields, image = await read_body(request, CREATE_FIELDS, "input_reference")
    idempotency = tasks.Idempotency.of(idempotency_key, fields, *([image] if image else []))
    task = await run_in_threadpool(
        create_task,
        session,
        key,
        fields,
        image=image,
        idempotency=idempotency,
        settings=settings,
        data_dir=request.app.state.data_dir,
    )
    poll_hint(response, settings)
    return video(task, settings)


# --- read, list, delete, download ------------------------------------------------------------
@router.get("/{video_id}", response_model=Video)
def retrieve_video(
    video_id: str,
    response: Response,
    account: CurrentAccount,
    session: SessionDep,
    settings: SettingsDep,
) -> Video:
    poll_hint(response, settings)
    return video(tasks.owned(session, account, video_id), settings)


@router.get("", response_model=VideoList)
def list_videos(
    account: CurrentAccount,
    session: SessionDep,
    settings: SettingsDep,
    after: str | None = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    order: Literal["asc", "desc"] = "desc",
) -> VideoList:
    page, has_more = tasks.page(
        session, account, after=after, limit=limit, newest_first=order == "desc"
    )
    data = [video(t, settings) for t in page]
    return VideoList.of(data, has_more=has_more)


@router.delete("/{video_id}", response_model=VideoDeleted)
def delete_video(
    video_id: str, request: Request, account: CurrentAccount, session: SessionDep
) -> VideoDeleted:
    task = tasks.owned(session, account, video_id)
    delete_task(session, request.app.state.data_dir, task.id)
    return VideoDeleted(id=video_id)


@router.get(
    "/{video_id}/content",
    response_class=FileResponse,
    responses={200: {"content": {"video/mp4": {}, "image/webp": {}, "image/jpeg": {}}}},
)
def download_video_content(
    video_id: str,
    request: Request,
    account: CurrentAccount,
    session: SessionDep,
    variant: Literal["video", "thumbnail", "spritesheet"] = "video",
) -> FileResponse:
    task = tasks.owned(session, account, video_id)
    path = tasks.asset_path(request.app.state.data_dir, task, variant)
    if not path.is_file():  # only an operator removing files by hand gets here
        raise not_found("file of video", video_id)
    return FileResponse(
        path, media_type=CONTENT_TYPES[variant], filename=f"{video_id}-{variant}{path.suffix}"
    )
