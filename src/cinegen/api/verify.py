"""``POST /v1/verify``: upload a file (multipart ``file``) and learn where it came from: its
C2PA state and manifest, its invisible watermark, and the task on this server that either
names (the manifest's when Trusted, else the watermark's, which outlives re-encoding)."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

from fastapi import APIRouter, UploadFile
from fastapi.concurrency import run_in_threadpool

from cinegen.api.deps import CurrentAccount, SessionDep, SettingsDep
from cinegen.api.errors import ERROR_RESPONSES, ApiError
from cinegen.api.uploads import MAX_UPLOAD_BYTES
from cinegen.config import Settings
from cinegen.provenance.verify import suffix_of, tasks_with_mark, verify
from cinegen.store.models import Task

router = APIRouter(prefix="/v1", tags=["provenance"], responses=ERROR_RESPONSES)


@router.post("/verify")
async def verify_upload(
    file: UploadFile, account: CurrentAccount, session: SessionDep, settings: SettingsDep
) -> dict[str, Any]:
    data = await file.read(MAX_UPLOAD_BYTES + 1)
    if len(data) > MAX_UPLOAD_BYTES:
        raise ApiError(413, f"file is larger than {MAX_UPLOAD_BYTES >> 20} MB", code="too_large",
                       param="file")  # fmt: skip
    # Reading every frame takes a while: no database connection is held meanwhile.
    await run_in_threadpool(session.commit)
    report = await run_in_threadpool(_verify_bytes, data, settings)
    report["file"] = file.filename or report["file"]
    task_id: str | None = report.pop("task")
    found_by: str | None = "c2pa"
    if not isinstance(task_id, str):
        marked = await run_in_threadpool(tasks_with_mark, session, report)
        task_id, found_by = (marked[0], "watermark") if len(marked) == 1 else (None, None)
    task = await run_in_threadpool(session.get, Task, task_id) if task_id else None
    report["task"] = None
    if task_id:
        yours = task is not None and task.account_id == account.id
        report["task"] = {"id": task_id, "on_this_server": task is not None, "yours": yours,
                          "found_by": found_by}  # fmt: skip
    return report


def _verify_bytes(data: bytes, settings: Settings) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / f"upload{suffix_of(data[:16])}"
        path.write_bytes(data)
        return verify(path, settings)
