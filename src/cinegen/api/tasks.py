"""What both dialects do with tasks: create one (validated, within limits, committed before
the answer), find one of the caller's, and find a finished one's files."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import ColumnElement, func, or_, select
from sqlalchemy.orm import Session

from cinegen.api import characters
from cinegen.api.errors import ApiError, from_spec_error, not_found
from cinegen.config import Settings
from cinegen.engine.plan import plan
from cinegen.errors import SpecError
from cinegen.jobs.media import read_pixels
from cinegen.jobs.moves import IllegalTransition
from cinegen.jobs.queue import cancel, find_by_idempotency_key, submit
from cinegen.safety.moderation import ContentPolicyViolation, check_request
from cinegen.safety.output import check_given
from cinegen.spec import GenerationSpec, new_seed, parse_spec
from cinegen.store import audit, quotas
from cinegen.store.models import Account, ApiKey, Generation, Task, TaskState, Upload, utcnow
from cinegen.store.turns import take_turn

ACTIVE = (TaskState.queued, TaskState.running)
RETRY_AFTER_S = 10


@dataclass(frozen=True)
class Idempotency:
    """A create's ``Idempotency-Key`` header and a fingerprint of the request it came with."""

    key: str
    request_sha256: str

    @classmethod
    def of(cls, key: str | None, fields: dict[str, Any], *blobs: bytes) -> Idempotency | None:
        """None without a key; otherwise the key and the sha256 of ``fields`` (canonical JSON)
        and of each uploaded file in ``blobs``."""
        if key is None:
            return None
        digest = hashlib.sha256(json.dumps(fields, sort_keys=True, default=str).encode())
        for blob in blobs:
            digest.update(hashlib.sha256(blob).digest())
        return cls(key, digest.hexdigest())


def replayed(session: Session, account: Account, idempotency: Idempotency | None) -> Task | None:
    """The task an earlier request under the same Idempotency-Key made (a retry gets it back,
    whatever the limits say now); 422 if that request was a different one."""
    if idempotency is None:
        return None
    earlier = find_by_idempotency_key(session, account.id, idempotency.key)
    if earlier is None or earlier.request_sha256 is None:  # (tasks from before 0002 match)
        return earlier
    if earlier.request_sha256 != idempotency.request_sha256:
        raise ApiError(
            422,
            f"Idempotency-Key {idempotency.key!r} was already used for a different request "
            f"(task {earlier.id}); send a new key for a new request",
            code="idempotency_key_reused",
            param="Idempotency-Key",
        )
    return earlier


def create(
    session: Session,
    account: Account,
    fields: dict[str, Any],
    *,
    settings: Settings,
    idempotency: Idempotency | None = None,
    rename: dict[str, str] | None = None,
    key: ApiKey | None = None,
) -> Task:
    """Validate ``fields`` as a GenerationSpec (with the stored characters its prompts
    mention) against the model registry, the content policy and ``key``'s quota, check the
    limits, and queue it. ``rename`` maps spec fields to the dialect's names in error
    messages."""
    earlier = replayed(session, account, idempotency)
    if earlier is not None:
        return earlier
    try:
        spec = parse_spec(characters.attach(session, account, fields))
        plan(spec, settings)
    except SpecError as exc:
        raise from_spec_error(exc, rename) from None
    _check_policy(session, account, spec, settings=settings)
    # From here to submit's commit the account's other creates (and the upload sweep) wait:
    # each check below counts every task queued before it, and the uploads stay.
    take_turn(session, [account.id])
    earlier = replayed(session, account, idempotency)  # a retry that waited its turn
    if earlier is not None:
        return earlier
    _check_media_named(session, account, spec, settings=settings, rename=rename or {})
    if key is not None:
        _check_quota(session, key, spec, settings=settings, rename=rename or {})
    if spec.seed is None:  # chosen now, so that a retried attempt makes the same video
        spec = spec.model_copy(update={"seed": new_seed()})
    _check_limits(session, settings, account)
    task = submit(
        session,
        account.id,
        spec.model_dump(mode="json"),
        key_id=key.id if key is not None else None,
        idempotency_key=idempotency.key if idempotency else None,
        request_sha256=idempotency.request_sha256 if idempotency else None,
    )
    replayed(session, account, idempotency)  # a concurrent retry may have won the race
    return task


def _check_policy(
    session: Session, account: Account, spec: GenerationSpec, *, settings: Settings
) -> None:
    """The request's words, and every uploaded picture or video it uses, by the policy."""
    try:
        check_request(spec, settings)
        if settings.moderate_outputs:
            for upload in _uploads(session, account, spec):
                path = settings.data_dir / upload.path
                if path.is_file():  # (one the sweep just took is refused after the turn)
                    check_given(read_pixels(path), settings, "upload", path)
    except ContentPolicyViolation as exc:
        result = exc.result
        scores = result.category_scores
        detail = {"categories": result.reasons, "scores": scores, "prompt": spec.prompt[:500]}
        audit.record(session, account.id, "policy.refuse", target=exc.field, detail=detail)
        session.commit()
        raise ApiError(400, str(exc), code="content_policy_violation", param=exc.field) from None


def _check_media_named(
    session: Session,
    account: Account,
    spec: GenerationSpec,
    *,
    settings: Settings,
    rename: dict[str, str],
) -> None:
    """Every upload and generation the request names is there and the caller's, refused now
    (400 naming the field) rather than failing the task later. Another account's id is
    answered exactly as an unknown one: the answer never confirms it exists."""
    for field, media_id in _media_fields(spec):
        param = rename.get(field) or rename.get(field.split(".")[0], field)
        if field.endswith("upload_id") or media_id.startswith("upload_"):
            upload = session.get(Upload, media_id)
            if upload is None or upload.account_id != account.id:
                raise ApiError(
                    400,
                    f"{param}: no upload {media_id!r} (uploads nothing uses are deleted "
                    f"{settings.upload_ttl_hours:g} hours after they arrive); upload it again",
                    code="invalid_value",
                    param=param,
                )
            continue
        generation = session.get(Generation, media_id)
        task = generation.task if generation is not None else None
        if task is None or task.account_id != account.id or expired(task):
            raise ApiError(
                400,
                f"{param}: no generation {media_id!r} among this account's videos (name a "
                "generation of one of its succeeded tasks, or an upload id)",
                code="invalid_value",
                param=param,
            )


def _media_fields(spec: GenerationSpec) -> list[tuple[str, str]]:
    """Each (field, id) of the uploads and generations a request names, the field spelt as
    a validation error spells it (``inpaint_items.0.generation_id``)."""
    sources = spec.source.generation_ids if spec.source else []
    named = [(f"source.generation_ids.{i}", media_id) for i, media_id in enumerate(sources)]
    items = [(f"inpaint_items.{i}", item) for i, item in enumerate(spec.inpaint_items)]
    items += [(f"storyboard.{i}.media", s.media) for i, s in enumerate(spec.storyboard) if s.media]
    for prefix, item in items:
        if item.upload_id is not None:
            named.append((f"{prefix}.upload_id", item.upload_id))
        elif item.generation_id is not None:
            named.append((f"{prefix}.generation_id", item.generation_id))
    for i, character in enumerate(spec.characters):
        if character.upload_id is not None:
            named.append((f"characters.{i}.upload_id", character.upload_id))
    for i, reference in enumerate(spec.reference_images):
        if reference.upload_id is not None:
            named.append((f"reference_images.{i}.upload_id", reference.upload_id))
        elif reference.generation_id is not None:
            named.append((f"reference_images.{i}.generation_id", reference.generation_id))
    return named


def _uploads(session: Session, account: Account, spec: GenerationSpec) -> list[Upload]:
    ids = set(spec.media_ids()) | {c.upload_id for c in spec.characters if c.upload_id}
    found = [session.get(Upload, media_id) for media_id in sorted(ids)]
    return [u for u in found if u is not None and u.account_id == account.id]


def _check_quota(
    session: Session,
    key: ApiKey,
    spec: GenerationSpec,
    *,
    settings: Settings,
    rename: dict[str, str],
) -> None:
    try:
        quotas.check(session, settings, key, spec)
    except quotas.OverQuota as exc:
        reason = {"reason": str(exc)}
        audit.record(session, key.account_id, "quota.refuse", target=key.id, detail=reason)
        session.commit()
        headers = {"Retry-After": str(exc.retry_after)} if exc.retry_after else None
        code = "quota_exceeded" if exc.status == 429 else "over_key_limit"
        param = rename.get(exc.field, exc.field) if exc.field else None
        raise ApiError(exc.status, str(exc), code=code, param=param, headers=headers) from None


def _check_limits(session: Session, settings: Settings, account: Account) -> None:
    active = session.scalar(
        select(func.count()).where(Task.account_id == account.id, Task.state.in_(ACTIVE))
    )
    if (active or 0) >= settings.max_active_tasks_per_account:
        raise ApiError(
            429,
            f"this account already has {active} unfinished tasks (the limit is "
            f"{settings.max_active_tasks_per_account}); wait for one to finish",
            code="too_many_active_tasks",
            headers={"Retry-After": str(RETRY_AFTER_S)},
        )
    # The whole queue's bound is a soft one: creates of different accounts do not take
    # turns, so a burst from many accounts at once may pass it by a few.
    queued = session.scalar(select(func.count()).where(Task.state == TaskState.queued))
    if (queued or 0) >= settings.max_queued_tasks:
        raise ApiError(
            429,
            f"the queue is full ({queued} tasks); try again shortly",
            code="queue_full",
            headers={"Retry-After": str(RETRY_AFTER_S)},
        )


def owned(session: Session, account: Account, task_id: str) -> Task:
    """The caller's task, or 404 — also for another account's task and for an expired one."""
    task = session.get(Task, task_id)
    if task is None or task.account_id != account.id or expired(task):
        raise not_found("task", task_id)
    return task


def live() -> ColumnElement[bool]:
    """SQL for "not expired", for listings."""
    return or_(Task.expires_at.is_(None), Task.expires_at > utcnow())


def expired(task: Task, now: datetime | None = None) -> bool:
    return task.expires_at is not None and task.expires_at <= (now or utcnow())


def spec_of(task: Task) -> GenerationSpec:
    return GenerationSpec.model_validate(task.spec)


# What a generation's files may be fetched as; the rest (its sidecar, its unmarked master)
# are the server's own, and the master is not even listed.
SERVED_FILES = frozenset({"video", "image", "thumbnail", "spritesheet"})
INTERNAL_FILES = frozenset({"master"})


def asset_path(data_dir: Path, task: Task, kind: str, *, index: int = 0) -> Path:
    """A finished task's file of ``kind`` (video, image, thumbnail, spritesheet)."""
    if task.state is not TaskState.succeeded:
        raise ApiError(
            409,
            f"task {task.id} is {task.state.value}; its files exist once it has succeeded",
            code="not_ready",
        )
    generations = sorted(task.generations, key=lambda g: g.index)
    if not 0 <= index < len(generations):
        raise ApiError(
            404, f"task {task.id} has no variant {index}", code="not_found", param="variant"
        )
    relative = generations[index].files.get(kind) if kind in SERVED_FILES else None
    if relative is None:
        raise ApiError(404, f"this task has no {kind}", code="not_found", param="variant")
    return data_dir / relative


def sidecar(data_dir: Path, generation: Generation) -> dict[str, Any] | None:
    """A generation's record as its worker wrote it (marks, timings, the model and preset
    used), or None when it is gone."""
    try:
        record = json.loads((data_dir / generation.files["sidecar"]).read_text())
    except (KeyError, OSError, ValueError):
        return None
    return record if isinstance(record, dict) else None


def page(
    session: Session,
    account: Account,
    *,
    after: str | None,
    limit: int,
    newest_first: bool,
    prompt_contains: str | None = None,
    state: TaskState | None = None,
) -> tuple[list[Task], bool]:
    """Up to ``limit`` of the account's live tasks after the task ``after`` in the chosen
    order (by creation time, then id), and whether more follow; only those whose prompt
    contains ``prompt_contains`` (any case), and only in ``state``, if given."""
    query = select(Task).where(Task.account_id == account.id, live())
    if state is not None:
        query = query.where(Task.state == state)
    if prompt_contains:
        prompt = func.lower(Task.spec["prompt"].as_string())
        query = query.where(prompt.contains(prompt_contains.lower(), autoescape=True))
    if after is not None:
        cursor = owned(session, account, after)
        if newest_first:
            query = query.where(
                (Task.created_at < cursor.created_at)
                | ((Task.created_at == cursor.created_at) & (Task.id < cursor.id))
            )
        else:
            query = query.where(
                (Task.created_at > cursor.created_at)
                | ((Task.created_at == cursor.created_at) & (Task.id > cursor.id))
            )
    key = (Task.created_at, Task.id)
    ordering = [k.desc() for k in key] if newest_first else list(key)
    rows = list(session.scalars(query.order_by(*ordering).limit(limit + 1)))
    return rows[:limit], len(rows) > limit


def cancel_owned(session: Session, account: Account, task_id: str) -> Task:
    """Cancel the caller's task (409 once it has finished)."""
    task = owned(session, account, task_id)
    try:
        return cancel(session, task.id)
    except IllegalTransition as exc:
        raise ApiError(409, str(exc), code="already_finished") from None


def queue_positions(session: Session) -> dict[str, int]:
    """Every queued task's place in the queue (1: the next a worker takes), as workers take
    them, oldest first: one query for a whole page of answers (the queue is bounded by
    ``max_queued_tasks``)."""
    waiting = session.scalars(
        select(Task.id).where(Task.state == TaskState.queued).order_by(Task.created_at, Task.id)
    )
    return {task_id: place for place, task_id in enumerate(waiting, start=1)}
