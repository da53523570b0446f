"""The OpenAI Files API, as far as the Batch API needs it: ``client.files.create`` (a JSONL
file of requests, purpose ``batch``), ``client.files.retrieve``, ``client.files.list`` and
``client.files.content`` (the input, and the output and error lines a batch writes, purpose
``batch_output``), and ``client.files.delete``.

A file is the caller's alone: another account's id is answered as an unknown one.

Trap: batches name files (``input_file_id`` is a foreign key; ``output_file_id`` and
``error_file_id`` are ids too), so deleting keeps the row, marked ``deleted_at``, and
removes only the bytes; a deleted file is then answered as an unknown one everywhere (and
refused as a batch's input), while a batch made from it still names it, as OpenAI's do.

Expiry, as OpenAI's: a file uploaded with ``expires_after`` (anchor ``created_at``, an hour
to 30 days; the SDK sends it as the multipart fields ``expires_after[anchor]`` and
``expires_after[seconds]``) shows its ``expires_at``, and once that has passed is deleted as
``DELETE`` deletes one, by ``sweep_expired``, which the API process runs every minute
(``api.app``). A batch's output and error files expire so with the batch's
``output_expires_after``. Trap: the input file of a batch not yet ended is kept past its
expiry until the batch ends (its lines are stored with it, but OpenAI keeps it too), then
swept. A file uploaded without ``expires_after`` keeps OpenAI's default for its purpose
(``DEFAULT_EXPIRY``: a batch's input, 30 days); output and error files without
``output_expires_after`` never expire.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import FileResponse
from pydantic import BaseModel, Field
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from cinegen.api.bodies import MAX_BODY_BYTES, BodyRoute
from cinegen.api.deps import CurrentAccount, SessionDep
from cinegen.api.errors import ERROR_RESPONSES, ApiError, not_found
from cinegen.api.openai.pages import CursorPage
from cinegen.errors import excerpt
from cinegen.media.atomic import atomic_path
from cinegen.store.models import Account, Batch, BatchState, StoredFile, new_id, utcnow

router = APIRouter(
    prefix="/v1/files", tags=["OpenAI Files API"], responses=ERROR_RESPONSES, route_class=BodyRoute
)

FILES = "files"  # under the data directory
UPLOAD_PURPOSES = ("batch",)  # what a client may upload; batch_output is the server's own
MAX_FILE_BYTES = 16 * 1024 * 1024  # a batch's lines are prompts: thousands fit in far less
EXPIRY_ANCHORS = ("created_at",)
EXPIRY_SECONDS = (3600, 2_592_000)  # OpenAI's bounds: an hour to 30 days
# What a file uploaded without expires_after gets, by purpose, as OpenAI's Files API does;
# a purpose not here is kept until deleted.
DEFAULT_EXPIRY = {"batch": 2_592_000}


class FileObject(BaseModel):
    id: str
    object: Literal["file"] = "file"
    bytes: int
    created_at: int
    filename: str
    purpose: Literal["batch", "batch_output"]
    status: Literal["uploaded", "processed", "error"] = "processed"
    expires_at: int | None = None


def file_object(stored: StoredFile) -> FileObject:
    return FileObject(
        id=stored.id,
        bytes=stored.bytes,
        created_at=int(stored.created_at.timestamp()),
        filename=stored.filename,
        purpose=stored.purpose,  # type: ignore[arg-type]
        expires_at=int(stored.expires_at.timestamp()) if stored.expires_at else None,
    )


def expiry_seconds(anchor: Any, seconds: Any, *, params: tuple[str, str]) -> int:
    """The seconds of an ``expires_after`` (``{anchor, seconds}``, its fields named
    ``params`` as the request sent them), checked against OpenAI's allowed values."""
    anchor_param, seconds_param = params
    if anchor not in EXPIRY_ANCHORS:
        raise ApiError(
            400,
            f"{anchor_param} must be one of: {', '.join(EXPIRY_ANCHORS)} (got "
            f"{excerpt(anchor)}); a file expires that many seconds after it is made",
            code="invalid_value",
            param=anchor_param,
        )
    whole = _whole(seconds)
    low, high = EXPIRY_SECONDS
    if whole is None or not low <= whole <= high:
        raise ApiError(
            400,
            f"{seconds_param} must be a whole number of seconds from {low} (an hour) to "
            f"{high} (30 days) (got {excerpt(seconds)}); leave it out for the default",
            code="invalid_value",
            param=seconds_param,
        )
    return whole


def _whole(value: Any) -> int | None:
    """An integer, as JSON sends it or as a multipart field's text."""
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, str) and 0 < len(value) <= 12 and value.isascii() and value.isdigit():
        return int(value)
    return None


def store(
    session: Session,
    account_id: str,
    data: bytes,
    *,
    filename: str,
    purpose: str,
    data_dir: Path,
    expires_after: int | None = None,
) -> StoredFile:
    """Keep ``data`` as the account ``account_id``'s file (written before its row is
    committed), until deleted or for ``expires_after`` seconds (by default, its purpose's
    ``DEFAULT_EXPIRY``)."""
    if expires_after is None:
        expires_after = DEFAULT_EXPIRY.get(purpose)
    file_id = new_id("file")
    relative = f"{FILES}/{file_id}.jsonl"
    with atomic_path(data_dir / relative) as tmp:
        tmp.write_bytes(data)
    stored = StoredFile(
        id=file_id,
        account_id=account_id,
        purpose=purpose,
        filename=filename[:255],
        bytes=len(data),
        path=relative,
        created_at=(now := utcnow()),
        expires_at=None if expires_after is None else now + timedelta(seconds=expires_after),
    )
    session.add(stored)
    session.commit()
    return stored


def owned(session: Session, account: Account, file_id: str) -> StoredFile:
    """The caller's file, or 404 (also for another account's, and a deleted one)."""
    stored = session.get(StoredFile, file_id)
    if stored is None or stored.account_id != account.id or stored.deleted_at is not None:
        raise not_found("file", file_id)
    return stored


class FileUpload(BaseModel):
    """``POST /v1/files`` as multipart: the file, its purpose, and when it expires (both
    expiry fields or neither)."""

    file: bytes
    purpose: str
    expires_after_anchor: Literal["created_at"] | None = Field(None, alias="expires_after[anchor]")
    expires_after_seconds: int | None = Field(
        None, alias="expires_after[seconds]", ge=EXPIRY_SECONDS[0], le=EXPIRY_SECONDS[1]
    )


@router.post(
    "",
    response_model=FileObject,
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                "multipart/form-data": {"schema": {"$ref": "#/components/schemas/FileUpload"}}
            },
        }
    },
)
async def create_file(request: Request, account: CurrentAccount, session: SessionDep) -> FileObject:
    if not request.headers.get("content-type", "").startswith("multipart/form-data"):
        raise ApiError(
            400,
            "send the file as multipart/form-data with the fields file and purpose",
            code="invalid_value",
            param="file",
        )
    form = await request.form(max_part_size=MAX_BODY_BYTES)
    purpose = form.get("purpose")
    if purpose not in UPLOAD_PURPOSES:
        raise ApiError(
            400,
            f"purpose must be one of: {', '.join(UPLOAD_PURPOSES)} (got {excerpt(purpose)}); "
            "this server keeps files for the Batch API only",
            code="invalid_value",
            param="purpose",
        )
    upload = form.get("file")
    if upload is None or isinstance(upload, str):
        raise ApiError(
            400, "file is required: a JSONL file, one request a line", code="invalid_value",
            param="file",
        )  # fmt: skip
    expires_after = _upload_expiry(
        form.get("expires_after[anchor]"), form.get("expires_after[seconds]")
    )
    data = await upload.read(MAX_FILE_BYTES + 1)
    if len(data) > MAX_FILE_BYTES:
        raise ApiError(
            413,
            f"file is larger than {MAX_FILE_BYTES >> 20} MB; split the batch",
            code="file_too_large",
            param="file",
        )
    stored = await run_in_threadpool(
        store,
        session,
        account.id,
        data,
        filename=upload.filename or "batch.jsonl",
        purpose=purpose,
        data_dir=request.app.state.data_dir,
        expires_after=expires_after,
    )
    return file_object(stored)


def _upload_expiry(anchor: Any, seconds: Any) -> int | None:
    if anchor is None and seconds is None:
        return None
    params = ("expires_after[anchor]", "expires_after[seconds]")
    return expiry_seconds(anchor, seconds, params=params)


class FileList(CursorPage[FileObject]):
    """A page of the caller's files."""


@router.get("", response_model=FileList)
def list_files(
    account: CurrentAccount,
    session: SessionDep,
    after: str | None = None,
    limit: Annotated[int, Query(ge=1, le=10_000)] = 10_000,
    order: Literal["asc", "desc"] = "desc",
    purpose: Literal["batch", "batch_output"] | None = None,
) -> FileList:
    """The caller's files (of ``purpose``), by creation time."""
    query = select(StoredFile).where(
        StoredFile.account_id == account.id, StoredFile.deleted_at.is_(None)
    )
    if purpose is not None:
        query = query.where(StoredFile.purpose == purpose)
    key = (StoredFile.created_at, StoredFile.id)
    if after is not None:
        cursor = owned(session, account, after)
        at, ident = StoredFile.created_at, StoredFile.id
        if order == "asc":
            query = query.where(
                (at > cursor.created_at) | ((at == cursor.created_at) & (ident > cursor.id))
            )
        else:
            query = query.where(
                (at < cursor.created_at) | ((at == cursor.created_at) & (ident < cursor.id))
            )
    ordering = list(key) if order == "asc" else [k.desc() for k in key]
    rows = list(session.scalars(query.order_by(*ordering).limit(limit + 1)))
    data = [file_object(f) for f in rows[:limit]]
    return FileList.of(data, has_more=len(rows) > limit)


@router.get("/{file_id}", response_model=FileObject)
def retrieve_file(file_id: str, account: CurrentAccount, session: SessionDep) -> FileObject:
    return file_object(owned(session, account, file_id))


@router.get(
    "/{file_id}/content",
    response_class=FileResponse,
    responses={200: {"content": {"application/jsonl": {}}}},
)
def download_file_content(
    file_id: str, request: Request, account: CurrentAccount, session: SessionDep
) -> FileResponse:
    stored = owned(session, account, file_id)
    path = request.app.state.data_dir / stored.path
    if not path.is_file():  # only an operator removing files by hand gets here
        raise not_found("content of file", file_id)
    return FileResponse(path, media_type="application/jsonl", filename=stored.filename)


class FileDeleted(BaseModel):
    """The SDK's ``FileDeleted``."""

    id: str
    object: Literal["file"] = "file"
    deleted: Literal[True] = True


@router.delete("/{file_id}", response_model=FileDeleted)
def delete_file(
    file_id: str, request: Request, account: CurrentAccount, session: SessionDep
) -> FileDeleted:
    """Forget the caller's file: its bytes are removed; batches made from it keep naming it."""
    stored = owned(session, account, file_id)
    stored.deleted_at = utcnow()
    session.commit()
    # After the commit: a failure before it leaves the file whole, never a row without bytes.
    (request.app.state.data_dir / stored.path).unlink(missing_ok=True)
    return FileDeleted(id=stored.id)


def sweep_expired(session: Session, *, data_dir: Path, now: datetime | None = None) -> list[str]:
    """Delete, as ``DELETE /v1/files/{id}`` does, every file whose ``expires_at`` has passed
    (at ``now``), except the input of a batch not yet ended: a later sweep takes it. Returns
    their ids. One conditional update decides them against the batches committed by then; a
    batch made from a file meanwhile has its lines stored already, and loses nothing."""
    now = now or utcnow()
    in_use = select(Batch.input_file_id).where(
        Batch.state.not_in([s for s in BatchState if s.ended])
    )
    gone = session.execute(
        update(StoredFile)
        .where(
            StoredFile.deleted_at.is_(None),
            StoredFile.expires_at <= now,
            StoredFile.id.not_in(in_use),
        )
        .values(deleted_at=now)
        .returning(StoredFile.id, StoredFile.path)
        .execution_options(synchronize_session=False)
    ).all()
    session.commit()
    # After the commit, as DELETE: a failure before it leaves the files whole.
    for _, path in gone:
        (data_dir / path).unlink(missing_ok=True)
    return [file_id for file_id, _ in gone]


HAND_READ_BODIES: tuple[type[BaseModel], ...] = (FileUpload,)
