"""``POST /v1/content_provenance_checks``: the OpenAI API's provenance check, as SDK 3.63's
``client.content_provenance_checks.create(file=…)`` sends it (multipart ``file``, nothing
else) and reads it back (``openai/types/content_provenance_check.py``)::

    {"object": "content_provenance_check", "created_at": 1765000000, "results": [
      {"type": "c2pa", "outcome": "detected", "validation_state": "trusted",
       "issuer": "cinegen", "model": "cinegen-tiny", "generated_at": "2026-12-06T05:31:16Z"},
      {"type": "synthid", "outcome": "detected", "model": …, "generated_at": …}]}

The same two witnesses as ``POST /v1/verify`` (provenance/verify.py), in OpenAI's words:
``outcome`` is ``detected`` where the signal says this server made the file, and every
field the SDK declares is present, null where the file does not say. Images (PNG, JPEG,
WebP, GIF) and videos (MP4, MOV) get both results; audio (WAV, MP3, FLAC, M4A) only the C2PA
one, as cinegen's invisible mark lives in pictures.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, UploadFile
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel, Field
from sqlalchemy.orm import Session

from cinegen.api.deps import CurrentAccount, SessionDep, SettingsDep
from cinegen.api.errors import ERROR_RESPONSES, ApiError
from cinegen.api.uploads import MAX_UPLOAD_BYTES
from cinegen.config import Settings
from cinegen.engine.plan import resolve_model
from cinegen.errors import SpecError
from cinegen.provenance.verify import FORMATS, format_of, tasks_with_mark, verify_bytes
from cinegen.store.models import Account, Task

router = APIRouter(prefix="/v1", tags=["OpenAI provenance checks"], responses=ERROR_RESPONSES)

Outcome = Literal["detected", "not_detected"]
ValidationState = Literal["trusted", "valid", "invalid", "not_present"]
# c2pa's validation states (manifest.read_file) in the SDK's words.
STATES: dict[str, ValidationState] = {
    "Trusted": "trusted",
    "Valid": "valid",
    "Invalid": "invalid",
    "None": "not_present",
}


class C2paResult(BaseModel):
    """The file's C2PA manifest. ``issuer`` is the signing certificate's organisation,
    named for a manifest whose signature holds (trusted or valid); ``model`` and
    ``generated_at`` (its ``c2pa.created`` action's) only for one this server's trust
    anchors vouch for."""

    type: Literal["c2pa"] = "c2pa"
    outcome: Outcome
    validation_state: ValidationState
    issuer: str | None
    model: str | None
    generated_at: str | None  # RFC 3339, UTC


class WatermarkResult(BaseModel):
    """cinegen's invisible mark, read from the file's pictures: ``detected`` when it names
    this server. It carries a task's 32 bits only, so ``model`` and ``generated_at`` (when
    the task finished) come from the task it names, told to that task's own account.

    Trap: ``type`` is ``synthid`` though the mark is cinegen's own (no SynthID is read here).
    SDK 3.63 types ``results`` as a union closed on ``type`` (``c2pa`` | ``synthid``): any
    other value fails its ``model_validate`` and its lenient parse turns the entry into a
    C2PA result without a validation state. ``synthid`` is the invisible-watermark slot, and
    the value the SDK parses into the right class."""

    type: Literal["synthid"] = "synthid"
    outcome: Outcome
    model: str | None
    generated_at: str | None  # RFC 3339, UTC


class ContentProvenanceCheck(BaseModel):
    object: Literal["content_provenance_check"] = "content_provenance_check"
    created_at: int  # Unix seconds
    results: list[Annotated[C2paResult | WatermarkResult, Field(discriminator="type")]]


def _accepted() -> str:
    kinds: dict[str, list[str]] = {}
    for found, _ in FORMATS:
        kinds.setdefault(found.kind, []).append(found.name)
    return "; ".join(f"{kind} ({', '.join(names)})" for kind, names in kinds.items())


@router.post("/content_provenance_checks")
async def create_content_provenance_check(
    file: UploadFile, account: CurrentAccount, session: SessionDep, settings: SettingsDep
) -> ContentProvenanceCheck:
    data = await file.read(MAX_UPLOAD_BYTES + 1)
    if len(data) > MAX_UPLOAD_BYTES:
        message = f"file is larger than {MAX_UPLOAD_BYTES >> 20} MB"
        raise ApiError(413, message, code="too_large", param="file")
    found = format_of(data[:16])
    if found is None:
        message = f"file must be an image, audio or a video: {_accepted()}"
        raise ApiError(400, message, code="invalid_value", param="file")
    # Reading every frame takes a while: no database connection is held meanwhile.
    await run_in_threadpool(session.commit)
    report = await run_in_threadpool(verify_bytes, data, settings)
    results: list[C2paResult | WatermarkResult] = [c2pa_result(report)]
    if found.kind != "audio":
        mark = await run_in_threadpool(watermark_result, session, account, report, settings)
        results.append(mark)
    return ContentProvenanceCheck(created_at=int(time.time()), results=results)


def c2pa_result(report: dict[str, Any]) -> C2paResult:
    """The C2PA result of a ``verify`` report; ``generator`` is there only for a Trusted
    manifest with cinegen's ``c2pa.created`` action: this server's own signal."""
    c2pa, generator = report["c2pa"], report["generator"] or {}
    state = STATES.get(c2pa["state"], "invalid")
    signer = (c2pa["manifest"] or {}).get("signature_info") or {}
    issuer = signer.get("issuer") or signer.get("common_name")
    return C2paResult(
        outcome="detected" if generator else "not_detected",
        validation_state=state,
        issuer=issuer if state in ("trusted", "valid") else None,
        model=generator.get("model"),
        generated_at=generator.get("generated_at"),
    )


def watermark_result(
    session: Session, account: Account, report: dict[str, Any], settings: Settings
) -> WatermarkResult:
    """The invisible mark's result of a ``verify`` report: what the task it names was made
    with and when, for that task's own account (anyone else learns only that this server
    made the file, as ``POST /v1/verify`` tells them)."""
    if not report["watermark"].get("this_server"):
        return WatermarkResult(outcome="not_detected", model=None, generated_at=None)
    marked = tasks_with_mark(session, report)
    task = session.get(Task, marked[0]) if len(marked) == 1 else None
    if task is None or task.account_id != account.id:
        return WatermarkResult(outcome="detected", model=None, generated_at=None)
    return WatermarkResult(
        outcome="detected",
        model=_model_of(task, settings),
        generated_at=_rfc3339(task.finished_at),
    )


def _model_of(task: Task, settings: Settings) -> str | None:
    """The model id a task's spec names (an alias resolved as the queue resolves it)."""
    try:
        return resolve_model(task.spec.get("model"), None, settings)[0].id
    except SpecError:  # a model this server no longer offers
        return None


def _rfc3339(moment: datetime | None) -> str | None:
    if moment is None:
        return None
    if moment.tzinfo is None:  # SQLite hands back naive UTC
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
