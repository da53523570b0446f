"""The Sora web backend's ``video_gen`` dialect, as scripts written for it call it.

``POST /backend/video_gen`` takes the ``GenerationSpec`` fields themselves (``n_frames`` at
30 fps, ``inpaint_items`` naming uploads from ``POST /backend/uploads``) and answers
``{"id"}``; cinegen also takes ``preset``, and ``fps`` for the rate ``n_frames`` counts at.
``operation`` with ``source`` (generation ids or uploaded videos) remixes, extends, loops,
blends, inpaints or re-cuts earlier videos; ``storyboard`` lists shots.
``GET /backend/video_gen?limit=N`` lists the caller's newest tasks as
``task_responses`` with ``progress_pct`` 0..1, and each finished generation has a ``url``
that downloads with the same key. ``type: image_gen`` (``n_frames: 1``) makes a PNG.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Header, Query, Request, UploadFile
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import FileResponse
from pydantic import BaseModel, field_validator

from cinegen.api import tasks
from cinegen.api.bodies import BodyRoute
from cinegen.api.deps import CurrentAccount, CurrentKey, SessionDep, SettingsDep
from cinegen.api.errors import ERROR_RESPONSES, not_found
from cinegen.api.uploads import store_media
from cinegen.spec import GenerationType, Preset
from cinegen.spec_parts import not_boolean
from cinegen.store.models import Generation, Task, TaskState

router = APIRouter(
    prefix="/backend",
    tags=["Sora backend dialect"],
    responses=ERROR_RESPONSES,
    route_class=BodyRoute,
)

SORA_FPS = 30.0  # the dialect counts n_frames at 30 per second
MEDIA_TYPES = {
    ".mp4": "video/mp4",
    ".png": "image/png",
    ".webp": "image/webp",
    ".jpg": "image/jpeg",
}


class VideoGenRequest(BaseModel):
    """The payload Sora's clients sent; every field but ``prompt`` has the dialect's default."""

    model_config = {"extra": "forbid"}

    type: GenerationType = GenerationType.video_gen
    prompt: str
    n_variants: int = 1
    n_frames: int | None = None
    width: int | None = None
    height: int | None = None
    style: str | None = None
    model: str | None = None
    preset: Preset | None = None  # cinegen's: turbo or quality of the model named
    # cinegen's: the rate n_frames counts at (Sora's clients leave it out: 30 per second);
    # the studio sends an earlier video's own, so that what it makes from it keeps time.
    fps: float | None = None
    operation: str = "simple_compose"
    inpaint_items: list[dict[str, Any]] = []
    source: dict[str, Any] | None = None
    storyboard: list[dict[str, Any]] | None = None
    # cinegen's: up to 3 pictures of a subject, each {"upload_media_id": …} or
    # {"generation_id": …} (as in inpaint_items), or the bare id
    reference_images: list[dict[str, Any] | str] | None = None
    seed: int | None = None
    negative_prompt: str | None = None
    # cinegen's: sound auto (where the model makes it), on or off, and words for it
    audio: str | None = None
    audio_prompt: str | None = None
    negative_audio_prompt: str | None = None
    # cinegen's: installed LoRA adapters by name, [{"name", "scale"}] or "name:scale,…"
    loras: list[dict[str, Any]] | str | None = None

    @field_validator("n_variants", "n_frames", "width", "height", "seed", "fps", mode="before")
    @classmethod
    def _numbers(cls, value: Any) -> Any:
        return not_boolean(value)


class Created(BaseModel):
    id: str


class Encoding(BaseModel):
    path: str


class SoraGeneration(BaseModel):
    id: str
    task_id: str
    index: int
    url: str
    width: int
    height: int
    n_frames: int
    seed: int
    has_audio: bool  # cinegen's: whether the video carries a sound track
    encodings: dict[str, Encoding]


class ModerationResult(BaseModel):
    is_output_rejection: bool = False
    code: str | None = None


class TaskResponse(BaseModel):
    id: str
    type: str
    status: Literal["queued", "running", "succeeded", "failed", "cancelled"]
    progress_pct: float
    queue_position: int | None = None  # cinegen's: 1 = the next task a worker takes
    failure_reason: str | None
    moderation_result: ModerationResult
    prompt: str
    model: str
    operation: str
    n_variants: int
    n_frames: int
    width: int
    height: int
    audio: str  # cinegen's: auto, on or off, as asked
    created_at: str
    generations: list[SoraGeneration]
    actions: list[str]


class TaskList(BaseModel):
    task_responses: list[TaskResponse]
    last_id: str | None
    has_more: bool


class UploadResponse(BaseModel):
    id: str
    media_type: str


def _generation(request: Request, generation: Generation) -> SoraGeneration:
    def link(kind: str) -> str:
        return (
            str(request.url_for("generation_content", generation_id=generation.id))
            + f"?kind={kind}"
        )

    main = "image" if "image" in generation.files else "video"
    encodings = {"source": Encoding(path=link(main))}
    for kind in ("thumbnail", "spritesheet"):
        if kind in generation.files:
            encodings[kind] = Encoding(path=link(kind))
    return SoraGeneration(
        id=generation.id,
        task_id=generation.task_id,
        index=generation.index,
        url=link(main),
        width=generation.width,
        height=generation.height,
        n_frames=generation.n_frames,
        seed=generation.seed,
        has_audio=generation.has_audio,
        encodings=encodings,
    )


def task_response(
    request: Request, task: Task, *, places: dict[str, int], default_model: str
) -> TaskResponse:
    """A task in the dialect's shape; ``places`` are the queue's (``tasks.queue_positions``)."""
    spec = tasks.spec_of(task)
    failure = None
    if task.state is TaskState.failed:
        failure = task.error_message or task.error_code
    return TaskResponse(
        id=task.id,
        type=spec.type.value,
        status=task.state.value,
        progress_pct=round(task.progress, 4),
        queue_position=places.get(task.id),
        failure_reason=failure,
        moderation_result=ModerationResult(
            is_output_rejection=task.error_code == "content_policy_violation"
        ),
        prompt=spec.prompt,
        model=spec.model or default_model,
        operation=spec.operation.value,
        n_variants=spec.n_variants,
        n_frames=spec.n_frames,
        width=spec.width,
        height=spec.height,
        audio=spec.audio.value,
        created_at=task.created_at.isoformat(),
        generations=[_generation(request, g) for g in task.generations],
        actions=task.actions or [],
    )


@router.post("/video_gen", response_model=Created)
def create_video_gen(
    body: VideoGenRequest,
    key: CurrentKey,
    session: SessionDep,
    settings: SettingsDep,
    idempotency_key: Annotated[str | None, Header(max_length=255)] = None,
) -> Created:
    fields = body.model_dump(exclude_none=True)
    idempotency = tasks.Idempotency.of(idempotency_key, body.model_dump(mode="json"))
    fields["fps"] = body.fps if body.fps is not None else SORA_FPS
    fields["inpaint_items"] = [_item(i) for i in body.inpaint_items]
    if body.reference_images is not None:
        fields["reference_images"] = [_reference(r) for r in body.reference_images]
    if body.storyboard is not None:
        fields["storyboard"] = [
            {**shot, "media": _item(shot["media"])} if isinstance(shot.get("media"), dict) else shot
            for shot in body.storyboard
        ]
    task = tasks.create(
        session, key.account, fields, settings=settings, idempotency=idempotency, key=key
    )
    return Created(id=task.id)


def _item(item: dict[str, Any]) -> dict[str, Any]:
    """Sora's clients named an upload ``upload_media_id``; the spec calls it ``upload_id``."""
    if "upload_media_id" in item and "upload_id" not in item:
        item = {**item, "upload_id": item["upload_media_id"]}
        del item["upload_media_id"]
    return item


def _reference(reference: dict[str, Any] | str) -> dict[str, Any]:
    """A reference image as the spec names it: a bare id is an upload's (``upload_…``) or
    a generation's."""
    if isinstance(reference, str):
        key = "upload_id" if reference.startswith("upload_") else "generation_id"
        return {key: reference}
    return _item(reference)


@router.get("/video_gen", response_model=TaskList)
def list_video_gen(
    request: Request,
    account: CurrentAccount,
    session: SessionDep,
    settings: SettingsDep,
    limit: Annotated[int, Query(ge=1, le=100)] = 10,
    before: str | None = None,
    # cinegen's: only tasks whose prompt contains this (any case), only in this state
    prompt: Annotated[str | None, Query(max_length=200)] = None,
    status: TaskState | None = None,
) -> TaskList:
    page, has_more = tasks.page(
        session,
        account,
        after=before,
        limit=limit,
        newest_first=True,
        prompt_contains=prompt,
        state=status,
    )
    places = tasks.queue_positions(session)
    return TaskList(
        task_responses=[
            task_response(request, t, places=places, default_model=settings.default_model)
            for t in page
        ],
        last_id=page[-1].id if page else None,
        has_more=has_more,
    )


@router.get("/video_gen/{task_id}", response_model=TaskResponse)
def get_video_gen(
    task_id: str,
    request: Request,
    account: CurrentAccount,
    session: SessionDep,
    settings: SettingsDep,
) -> TaskResponse:
    task = tasks.owned(session, account, task_id)
    places = tasks.queue_positions(session)
    return task_response(request, task, places=places, default_model=settings.default_model)


@router.post("/video_gen/{task_id}/cancel", response_model=TaskResponse)
def cancel_video_gen(
    task_id: str,
    request: Request,
    account: CurrentAccount,
    session: SessionDep,
    settings: SettingsDep,
) -> TaskResponse:
    task = tasks.cancel_owned(session, account, task_id)
    places = tasks.queue_positions(session)
    return task_response(request, task, places=places, default_model=settings.default_model)


@router.get(
    "/generations/{generation_id}/content", name="generation_content", response_class=FileResponse
)
def generation_content(
    generation_id: str,
    request: Request,
    account: CurrentAccount,
    session: SessionDep,
    kind: Literal["video", "image", "thumbnail", "spritesheet"] = "video",
) -> FileResponse:
    generation = session.get(Generation, generation_id)
    if generation is None:
        raise not_found("generation", generation_id)
    task = tasks.owned(session, account, generation.task_id)  # 404 for others' too
    path = tasks.asset_path(request.app.state.data_dir, task, kind, index=generation.index)
    if not path.is_file():
        raise not_found("file of generation", generation_id)
    return FileResponse(path, media_type=MEDIA_TYPES.get(path.suffix, "application/octet-stream"))


@router.post("/uploads", response_model=UploadResponse)
async def upload(
    file: UploadFile, request: Request, account: CurrentAccount, session: SessionDep
) -> UploadResponse:
    data = await file.read()
    stored = await run_in_threadpool(
        store_media, session, account, data, data_dir=request.app.state.data_dir, param="file"
    )
    return UploadResponse(id=stored.id, media_type=stored.media_type)
