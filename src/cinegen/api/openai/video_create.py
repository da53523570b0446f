"""``POST /v1/videos``'s body, and the path from its fields to a queued task.

``sora-2`` and ``sora-2-pro`` are the default model's turbo and quality presets; any
registered model id works too, as do sizes and lengths beyond the SDK's literals that the
model can make. A batch's lines take the same path (``batch_work.py``).
"""

from __future__ import annotations

from functools import partial
from pathlib import Path
from typing import Any

from pydantic import BaseModel
from sqlalchemy.orm import Session

from cinegen.api import tasks
from cinegen.api.errors import ApiError
from cinegen.api.openai.video_fields import (
    chosen,
    prompt_of,
    reference_image_of,
    seconds_of,
    size_of,
    text_of,
)
from cinegen.api.uploads import remove_upload, store_image
from cinegen.config import Settings
from cinegen.errors import excerpt
from cinegen.limits import MAX_REFERENCE_IMAGES
from cinegen.spec import DEFAULT_FPS, frames_for
from cinegen.store.models import ApiKey, Task, TaskState

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
    width, height = size_of(text_of(fields, "size", DEFAULTS["size"]))
    seconds = seconds_of(chosen(fields, "seconds").get("seconds", DEFAULTS["seconds"]))
    reference = fields.get("input_reference")
    if reference is not None:
        image = reference_image_of(reference)
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
