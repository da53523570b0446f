"""The OpenAI Files API, as far as the Batch API needs it: ``client.files.create`` (a JSONL
file of requests, purpose ``batch``), ``client.files.retrieve``, ``client.files.list`` and
``client.files.content`` (the input, and the output and error lines a batch writes, purpose
``batch_output``), and ``client.files.delete``.

A file is the caller's alone: another account's id is answered as an unknown one.

Trap: batches name files (``input_file_id`` is a foreign key; ``output_file_id`` and
``error_file_id`` are ids too), so deleting keeps the row, marked ``deleted_at``, and
removes only the bytes; a deleted file is then answered as an unknown one everywhere (and
refused as a batch's input), while a batch made from it still names it, as OpenAI's do.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

from fastapi import APIRouter, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import FileResponse
from pydantic import BaseModel
from sqlalchemy import select
from sqlalchemy.orm import Session

from cinegen.api.bodies import MAX_BODY_BYTES, BodyRoute
from cinegen.api.deps import CurrentAccount, SessionDep
from cinegen.api.errors import ERROR_RESPONSES, ApiError, not_found
from cinegen.api.openai.pages import CursorPage
from cinegen.errors import excerpt
from cinegen.media.atomic import atomic_path
from cinegen.store.models import Account, StoredFile, new_id, utcnow

router = APIRouter(
    prefix="/v1/files", tags=["OpenAI Files API"], responses=ERROR_RESPONSES, route_class=BodyRoute
)

FILES = "files"  # under the data directory
UPLOAD_PURPOSES = ("batch",)  # what a client may upload; batch_output is the server's own
MAX_FILE_BYTES = 16 * 1024 * 1024  # a batch's lines are prompts: thousands fit in far less


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
    )


def store(
    session: Session,
    account_id: str,
    data: bytes,
    *,
    filename: str,
    purpose: str,
    data_dir: Path,
) -> StoredFile:
    """Keep ``data`` as the account ``account_id``'s file (written before its row is committed)."""
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
    """``POST /v1/files`` as multipart: the file and its purpose."""

    file: bytes
    purpose: str


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
    )
    return file_object(stored)


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


HAND_READ_BODIES: tuple[type[BaseModel], ...] = (FileUpload,)
