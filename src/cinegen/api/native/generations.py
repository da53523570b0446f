"""One generation as its owner sees it: the record and the provenance this server kept.

``GET /v1/generations/{id}`` answers what the studio's detail view shows: the request as
rendered (prompt, model, preset, style, seed, size, length in frames and seconds), when it
was queued, started and finished, the files to download, how the spritesheet is laid out
(which frame each tile shows, for scrubbing), the task's next shots (``actions``), and the
marks the file carries as its sidecar recorded them (C2PA manifest, visible mark, invisible
watermark), and its sound track's facts (rate, channels, codec, loudness). Another
account's generation answers 404, exactly like one that does not exist.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import APIRouter, Request
from pydantic import BaseModel

from cinegen.api import tasks
from cinegen.api.deps import CurrentAccount, SessionDep, SettingsDep
from cinegen.api.errors import ERROR_RESPONSES, ApiError, not_found
from cinegen.api.native.sharing import ShareView, share_view
from cinegen.media.stills import spritesheet_grid
from cinegen.store.models import Generation, Share, Task, TaskState

router = APIRouter(prefix="/v1/generations", tags=["generations"], responses=ERROR_RESPONSES)

DOWNLOADS = ("video", "image", "thumbnail", "spritesheet")


class Spritesheet(BaseModel):
    """Tile k (left to right, top to bottom) shows frame ``frames[k]``."""

    url: str
    columns: int
    rows: int
    frames: list[int]


class Provenance(BaseModel):
    """The marks as the server recorded them when it wrote the file (None: no record)."""

    recorded: bool  # false when the sidecar is gone: nothing below is known
    c2pa: bool | None  # a signed C2PA manifest (Content Credentials) in the file
    visible_mark: str | None  # the text (or logo) in the corner of every frame
    invisible_mark: str | None  # the watermark's payload: server and task, hexadecimal


class Sound(BaseModel):
    """A video's sound track as its sidecar recorded it (``files[].audio``)."""

    rate: int  # samples per second
    channels: int
    codec: str  # as FFmpeg names it: "aac"
    loudness_lufs: float | None  # integrated (BS.1770-4); None: silence
    true_peak_dbtp: float | None  # None: silence
    seed: int  # the sound's own, as its variant's
    made_by: dict[str, Any]  # with_picture, and the model or the soundtrack network


class GenerationRecord(BaseModel):
    id: str
    task_id: str
    index: int  # which variant of its task, from 0
    variants: int  # how many its task made (a delete removes them all)
    state: str  # the task's: files exist once it is succeeded
    type: str
    operation: str
    source: dict[str, Any] | None  # what an operation started from
    prompt: str
    negative_prompt: str | None
    model: str
    preset: str | None
    style: str
    seed: int
    width: int
    height: int
    n_frames: int
    fps: float
    seconds: float
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    render_s: float | None  # from start to finish, as the queue recorded it
    timings: dict[str, float]  # the engine's own: load_s, render_s, media_s
    actions: list[str]  # the shot planner's next shots
    files: dict[str, str]  # kind -> download URL
    spritesheet: Spritesheet | None
    provenance: Provenance
    has_audio: bool  # a sound track in the video
    sound: Sound | None  # its facts; None: silent, or the sidecar is gone
    # Where sharing it stands (as GET /v1/generations/{id}/share says), None: not asked.
    # Here too, so that a page shows it without asking for a share that may not exist.
    share: ShareView | None


def _provenance(sidecar: dict[str, Any] | None) -> Provenance:
    if sidecar is None:
        return Provenance(recorded=False, c2pa=None, visible_mark=None, invisible_mark=None)
    return Provenance(
        recorded=True,
        c2pa=bool(sidecar.get("c2pa")),
        visible_mark=sidecar.get("visible_mark") or None,
        invisible_mark=sidecar.get("invisible_mark") or None,
    )


def _sound(sidecar: dict[str, Any], generation: Generation) -> Sound | None:
    listed = sidecar.get("files")
    if not isinstance(listed, list):
        return None
    facts = next(
        (
            f.get("audio")
            for f in listed
            if isinstance(f, dict) and f.get("index") == generation.index
        ),
        None,
    )
    return Sound.model_validate(facts) if isinstance(facts, dict) else None


def _files(request: Request, task: Task, generation: Generation) -> dict[str, str]:
    if task.state is not TaskState.succeeded:
        return {}
    base = str(request.url_for("generation_content", generation_id=generation.id))
    return {kind: f"{base}?kind={kind}" for kind in DOWNLOADS if kind in generation.files}


def _spritesheet(files: dict[str, str], generation: Generation) -> Spritesheet | None:
    if "spritesheet" not in files:
        return None
    frames, columns, rows = spritesheet_grid(generation.n_frames)
    return Spritesheet(url=files["spritesheet"], columns=columns, rows=rows, frames=frames)


def record(
    request: Request,
    task: Task,
    generation: Generation,
    *,
    share: Share | None,
    default_model: str,
) -> GenerationRecord:
    spec = tasks.spec_of(task)
    sidecar = tasks.sidecar(request.app.state.data_dir, generation) or {}
    files = _files(request, task, generation)
    render_s = None
    if task.started_at is not None and task.finished_at is not None:
        render_s = round((task.finished_at - task.started_at).total_seconds(), 3)
    timings = sidecar.get("timings")
    return GenerationRecord(
        id=generation.id,
        task_id=task.id,
        index=generation.index,
        variants=len(task.generations),
        state=task.state.value,
        type=spec.type.value,
        operation=spec.operation.value,
        source=spec.source.model_dump(mode="json") if spec.source else None,
        prompt=spec.prompt,
        negative_prompt=spec.negative_prompt,
        model=sidecar.get("model") or spec.model or default_model,
        preset=sidecar.get("preset") or (spec.preset.value if spec.preset else None),
        style=sidecar.get("style") or spec.style,
        seed=generation.seed,
        width=generation.width,
        height=generation.height,
        n_frames=generation.n_frames,
        fps=spec.fps,
        seconds=round(generation.n_frames / spec.fps, 3),
        created_at=task.created_at,
        started_at=task.started_at,
        finished_at=task.finished_at,
        render_s=render_s,
        timings=timings if isinstance(timings, dict) else {},
        actions=task.actions or [],
        files=files,
        spritesheet=_spritesheet(files, generation),
        provenance=_provenance(sidecar or None),
        has_audio=generation.has_audio,
        sound=_sound(sidecar, generation),
        share=share_view(request, share) if share is not None else None,
    )


@router.get("/{generation_id}", response_model=GenerationRecord)
def get_generation(
    generation_id: str,
    request: Request,
    account: CurrentAccount,
    session: SessionDep,
    settings: SettingsDep,
) -> GenerationRecord:
    """One of the caller's generations: its record, downloads and provenance."""
    generation = session.get(Generation, generation_id)
    if generation is None:
        raise not_found("generation", generation_id)
    try:
        task = tasks.owned(session, account, generation.task_id)
    except ApiError:  # another account's, or an expired task's: as if it did not exist
        raise not_found("generation", generation_id) from None
    share = session.get(Share, generation.id)
    return record(request, task, generation, share=share, default_model=settings.default_model)
