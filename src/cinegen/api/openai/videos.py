"""The OpenAI Videos API, as the official ``openai`` SDK's ``client.videos`` calls it.

``POST /v1/videos`` takes JSON or multipart (the SDK switches to multipart when
``input_reference`` is a file); ``seconds`` and ``size`` arrive as strings. ``sora-2`` and
``sora-2-pro`` are the default model's turbo and quality presets; any registered model id
works too, as do sizes and lengths beyond the SDK's literals that the model can make.
Statuses map ``queued / running / succeeded / failed | cancelled`` to ``queued /
in_progress / completed / failed`` (a cancelled video is failed with code ``cancelled``).
"""

from __future__ import annotations

import contextlib
import math
import re
from functools import partial
from pathlib import Path
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Header, Query, Request, Response
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import FileResponse
from pydantic import BaseModel
from sqlalchemy.orm import Session, object_session

from cinegen.api import tasks
from cinegen.api.bodies import MAX_BODY_BYTES, BodyRoute, parse_json
from cinegen.api.deps import CurrentAccount, CurrentKey, SessionDep, SettingsDep
from cinegen.api.errors import ERROR_RESPONSES, ApiError, not_found
from cinegen.api.openai.pages import CursorPage
from cinegen.api.uploads import MAX_UPLOAD_BYTES, decode_data_url, remove_upload, store_image
from cinegen.config import Settings
from cinegen.errors import excerpt
from cinegen.jobs.assets import delete_task
from cinegen.limits import MAX_REFERENCE_IMAGES, MAX_SECONDS
from cinegen.spec import DEFAULT_FPS, GenerationSpec, Operation, frames_for
from cinegen.store.models import ApiKey, Generation, Task, TaskState

router = APIRouter(
    prefix="/v1/videos",
    tags=["OpenAI Videos API"],
    responses=ERROR_RESPONSES,
    route_class=BodyRoute,
)

STATUS = {
    TaskState.queued: "queued",
    TaskState.running: "in_progress",
    TaskState.succeeded: "completed",
    TaskState.failed: "failed",
    TaskState.cancelled: "failed",
}
DEFAULTS = {"model": "sora-2", "seconds": "4", "size": "720x1280"}
# Spec fields as this dialect names them, for error messages.
RENAME = {
    "width": "size",
    "height": "size",
    "n_frames": "seconds",
    "inpaint_items": "input_reference",
    "reference_images": "reference_images",
}
# ``seed`` (the same seed, request and model make the same video) and ``audio`` (auto, on,
# off: sora-2's videos always had sound, so auto, sound where the model makes it, is the
# default) are cinegen's additions.
# ``loras`` too: installed LoRA adapters by name, [{"name", "scale"}] or "name:scale,…" (a
# multipart body carries the list as the SDK writes it, loras[][name] and loras[][scale]).
# ``reference_images`` (cinegen's): up to 3 upload ids (POST /backend/uploads) or ids of
# completed videos, pictures of a subject for the models that take them.
CREATE_FIELDS = {
    "prompt", "model", "seconds", "size", "input_reference", "seed", "audio", "loras",
    "reference_images",
}  # fmt: skip
# What each downloadable variant is sent as (each is the task's file of the same name).
CONTENT_TYPES = {"video": "video/mp4", "thumbnail": "image/webp", "spritesheet": "image/jpeg"}


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


# --- create --------------------------------------------------------------------------------
def hand_read_body(json_model: str, form_model: str) -> dict[str, Any]:
    """A route's request body for the schema when the route reads it by hand."""
    return {
        "requestBody": {
            "required": True,
            "content": {
                "application/json": {"schema": {"$ref": f"#/components/schemas/{json_model}"}},
                "multipart/form-data": {"schema": {"$ref": f"#/components/schemas/{form_model}"}},
            },
        }
    }


class LoraParam(BaseModel):
    """An installed LoRA adapter by name (``cinegen models --json`` lists them) and its
    scale, -2..2 (default 1)."""

    name: str
    scale: float = 1.0


class VideoCreate(BaseModel):
    """``POST /v1/videos`` as JSON."""

    prompt: str
    model: str | None = None
    seconds: str | None = None
    size: str | None = None
    input_reference: dict[str, str] | None = None  # {"image_url": "data:image/png;base64,…"}
    seed: int | None = None
    audio: str | None = None
    loras: list[LoraParam] | str | None = None
    reference_images: list[str] | None = None  # upload ids or completed videos' ids


class VideoCreateForm(BaseModel):
    """``POST /v1/videos`` as multipart; ``input_reference`` is an image file."""

    prompt: str
    model: str | None = None
    seconds: str | None = None
    size: str | None = None
    input_reference: bytes | None = None
    seed: int | None = None
    audio: str | None = None
    loras: str | None = None  # "name:scale,…", or loras[][name] and loras[][scale] fields
    # Repeated as reference_images[] (the SDK's way with a list), or comma-separated.
    reference_images: list[str] | str | None = None


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


async def read_body(
    request: Request, known: set[str], file_param: str
) -> tuple[dict[str, Any], bytes | None]:
    """A JSON or multipart body's fields, and the bytes of the file sent as ``file_param``
    (multipart only). The SDK sends a nested object in a form as ``video[id]``: it arrives
    here as ``{"video": {"id": …}}``, as it would in JSON."""
    content_type = request.headers.get("content-type", "")
    upload: bytes | None = None
    if content_type.startswith("multipart/form-data"):
        # A text field as long as the body may be: an overlong prompt is then refused by
        # name, as in JSON, rather than as an anonymous "part exceeded maximum size".
        form = await request.form(max_part_size=MAX_BODY_BYTES)
        fields: dict[str, Any] = {}
        for key, value in form.multi_items():
            if key == file_param and not isinstance(value, str):
                upload = await value.read(MAX_UPLOAD_BYTES + 1)  # more is refused as too large
            elif isinstance(value, str) and (item := LIST_ITEM.fullmatch(key)):
                _add_list_item(fields, item[1], item[2], value)
            elif isinstance(value, str) and key.endswith("[]"):  # a list: key[] repeated
                listed = fields.setdefault(key[:-2], [])
                if isinstance(listed, list):
                    listed.append(value)
            elif isinstance(value, str) and "[" in key and key.endswith("]"):
                outer, _, inner = key[:-1].partition("[")
                nested = fields.setdefault(outer, {})
                if isinstance(nested, dict):
                    nested[inner] = value
            else:
                fields[key] = value
    else:
        fields = parse_json(await request.body())
        if not isinstance(fields, dict):
            raise ApiError(
                400, "the body must be a JSON object (or multipart/form-data)", code="invalid_json"
            )
    refuse_unknown(fields, known)
    return fields, upload


def refuse_unknown(fields: dict[str, Any], known: set[str]) -> None:
    """A 400 naming the first field not among ``known``, and the known ones."""
    unknown = sorted(set(fields) - known)
    if unknown:
        raise ApiError(
            400,
            f"unknown parameter {excerpt(unknown[0])}; known: {', '.join(sorted(known))}",
            code="unknown_parameter",
            param=unknown[0],
        )


# A list of objects in a form, as the SDK writes it: loras[][name]=a, loras[][scale]=0.8, …
LIST_ITEM = re.compile(r"(\w+)\[\]\[(\w+)\]")


def _add_list_item(fields: dict[str, Any], outer: str, inner: str, value: str) -> None:
    """One ``outer[][inner]`` form field: the k-th ``inner`` belongs to the k-th item.

    Trap: the SDK sends the fields grouped by key (every loras[][name], then every
    loras[][scale]), not item by item; so an item that leaves out a key the others give
    shifts those after it (each item should give every key)."""
    items = fields.setdefault(outer, [])
    if isinstance(items, list):
        k = sum(inner in item for item in items)
        if k == len(items):
            items.append({})
        items[k][inner] = value


def create_task(
    session: Session,
    key: ApiKey,
    fields: dict[str, Any],
    *,
    image: bytes | None,
    idempotency: tasks.Idempotency | None,
    settings: Settings,
    data_dir: Path,
) -> Task:
    """One request's fields, as this dialect names them, validated, checked against the
    policy, quota and limits, and queued: the path of a single create and of every line of
    a batch (``batch_work.py``)."""
    account = key.account
    earlier = tasks.replayed(session, account, idempotency)  # before keeping any upload
    if earlier is not None:
        return earlier
    prompt = prompt_of(fields)
    width, height = _size(text_of(fields, "size", DEFAULTS["size"]))
    seconds = seconds_of(chosen(fields, "seconds").get("seconds", DEFAULTS["seconds"]))
    reference = fields.get("input_reference")
    if reference is not None:
        image = _reference_image(reference)
    spec: dict[str, Any] = {
        "prompt": prompt,
        "model": text_of(fields, "model", DEFAULTS["model"]),
        "width": width,
        "height": height,
        "fps": DEFAULT_FPS,
        "n_frames": frames_for(seconds, DEFAULT_FPS),
        **chosen(fields, "seed"),
        **chosen(fields, "audio"),
        **chosen(fields, "loras"),
    }
    if "reference_images" in fields:
        spec["reference_images"] = _references(session, account, fields["reference_images"])
    queue = partial(
        tasks.create, session, account, settings=settings, idempotency=idempotency, key=key
    )
    if image is None:
        return queue(spec, rename=RENAME)
    upload = store_image(session, account, image, data_dir=data_dir, param="input_reference")
    spec["inpaint_items"] = [{"type": "image", "upload_id": upload.id, "frame_index": 0}]
    try:
        task = queue(spec, rename=RENAME)
    except ApiError:  # refused: the image was for this request only
        remove_upload(session, data_dir, upload)
        raise
    if task.spec["inpaint_items"][0].get("upload_id") != upload.id:
        remove_upload(session, data_dir, upload)  # a concurrent retry's task won the race
    return task


def _references(session: Session, account: Any, value: Any) -> list[dict[str, str]]:
    """``reference_images`` as the spec names media: upload ids as they are, a completed
    video's id as its generation. A form may send them comma-separated."""
    ids = [i.strip() for i in value.split(",") if i.strip()] if isinstance(value, str) else value
    if not isinstance(ids, list) or not all(isinstance(i, str) for i in ids):
        raise ApiError(
            400,
            "reference_images must be a list of upload ids or completed videos' ids",
            code="invalid_value",
            param="reference_images",
        )
    if len(ids) > MAX_REFERENCE_IMAGES:  # the spec refuses them by count, before any lookup
        return [{"upload_id": media_id} for media_id in ids]
    named = []
    for media_id in ids:
        if media_id.startswith("upload_"):  # checked with the request's other media
            named.append({"upload_id": media_id})
            continue
        task = session.get(Task, media_id)
        mine = task is not None and task.account_id == account.id and not tasks.expired(task)
        if task is None or not mine or task.state is not TaskState.succeeded:
            raise ApiError(
                400,
                f"reference_images: no completed video {excerpt(media_id)} among this "
                "account's videos (name a completed video's id, or an upload id)",
                code="invalid_value",
                param="reference_images",
            )
        named.append({"generation_id": task.generations[0].id})
    return named


def _reference_image(reference: Any) -> bytes:
    """The image bytes of a JSON ``input_reference``: ``{"image_url": "data:…"}``."""
    if not isinstance(reference, dict) or not isinstance(reference.get("image_url"), str):
        raise ApiError(
            400,
            'input_reference must be {"image_url": "data:image/png;base64,…"} (or an image '
            "file in a multipart body); file_id is not supported here",
            code="invalid_value",
            param="input_reference",
        )
    return decode_data_url(reference["image_url"], "input_reference")


def text_of(fields: dict[str, Any], name: str, default: str) -> str:
    """The text field ``name``, ``default`` when the request left it out (or empty)."""
    value = chosen(fields, name).get(name, default)
    if not isinstance(value, str):
        raise ApiError(
            400,
            f"{name} must be a string (got {excerpt(value)})",
            code="invalid_value",
            param=name,
        )
    return value


def required_text(fields: dict[str, Any], name: str, meaning: str) -> str:
    """The text field ``name``, or a 400 saying it is required and what it is for."""
    value = fields.get(name)
    if not isinstance(value, str):
        raise ApiError(
            400,
            f"{name} is required: {meaning}",
            code="missing_required_parameter",
            param=name,
        )
    return value


def prompt_of(fields: dict[str, Any]) -> str:
    return required_text(fields, "prompt", "a text describing the video")


def chosen(fields: dict[str, Any], name: str) -> dict[str, Any]:
    """``{name: value}`` when the request gave one, else nothing (the source's holds)."""
    value = fields.get(name)
    return {} if value is None or value == "" else {name: value}


# ASCII digits only: str.isdigit() also takes "¹²⁸", which int() refuses. Five digits are
# more than any side can be, and keep int() cheap.
SIZE = re.compile(r"([0-9]{1,5})x([0-9]{1,5})")


def _size(text: str) -> tuple[int, int]:
    match = SIZE.fullmatch(text.lower())
    if match is None:
        raise ApiError(
            400,
            f"size must be WIDTHxHEIGHT in pixels, e.g. 1280x720 (got {excerpt(text)})",
            code="invalid_value",
            param="size",
        )
    return int(match[1]), int(match[2])


def seconds_of(value: Any) -> float:
    """``seconds`` as a string ("4", as the SDK sends it) or a number, never true or false.

    Trap: past MAX_SECONDS it is refused here, not left to the spec's length check: the frame
    count is worked out first, and ``"1e308"`` seconds overflows it."""
    seconds = math.nan
    if isinstance(value, str) and value.isascii():  # float() reads "٤" too; as size, ASCII
        with contextlib.suppress(ValueError):
            seconds = float(value)
    elif isinstance(value, int | float) and not isinstance(value, bool):
        with contextlib.suppress(OverflowError):  # an integer of 400 digits
            seconds = float(value)
    if not 0 < seconds <= MAX_SECONDS:  # NaN fails this too
        raise ApiError(
            400,
            f'seconds must be a number over 0 and at most {MAX_SECONDS:g}, e.g. "4" '
            f"(got {excerpt(value)})",
            code="invalid_value",
            param="seconds",
        )
    return seconds


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
