"""``POST /v1/verify``: upload a file (multipart ``file``) and learn where it came from: its
C2PA state and manifest, its invisible watermark, and the task on this server that either
names (the manifest's when Trusted, else the watermark's, which outlives re-encoding).

Anyone may learn that a file comes from this server; only the task's own account learns
which task (its id, wherever the report would carry it: the manifest names it too). An
admin sees every id, as the audit log already shows them, and each such look is audited.
"""

from __future__ import annotations

import json
import re
from typing import Any

from fastapi import APIRouter, UploadFile
from fastapi.concurrency import run_in_threadpool
from sqlalchemy import select
from sqlalchemy.orm import Session

from cinegen.api.deps import CurrentAccount, SessionDep, SettingsDep
from cinegen.api.errors import ERROR_RESPONSES, ApiError
from cinegen.api.uploads import MAX_UPLOAD_BYTES
from cinegen.provenance.verify import tasks_with_mark, verify_bytes
from cinegen.store import audit
from cinegen.store.models import Account, Role, Task

router = APIRouter(prefix="/v1", tags=["provenance"], responses=ERROR_RESPONSES)

TASK_ID = re.compile(r"task_[0-9a-f]{24}")  # models.new_id("task")
WITHHELD = "(withheld: not this account's task)"


@router.post("/verify")
async def verify_upload(
    file: UploadFile, account: CurrentAccount, session: SessionDep, settings: SettingsDep
) -> dict[str, Any]:
    data = await file.read(MAX_UPLOAD_BYTES + 1)
    if len(data) > MAX_UPLOAD_BYTES:
        message = f"file is larger than {MAX_UPLOAD_BYTES >> 20} MB"
        raise ApiError(413, message, code="too_large", param="file")
    # Reading every frame takes a while: no database connection is held meanwhile.
    await run_in_threadpool(session.commit)
    report = await run_in_threadpool(verify_bytes, data, settings)
    report["file"] = file.filename or report["file"]
    task_id: str | None = report.pop("task")
    found_by: str | None = "c2pa"
    if not isinstance(task_id, str):
        marked = await run_in_threadpool(tasks_with_mark, session, report)
        task_id, found_by = (marked[0], "watermark") if len(marked) == 1 else (None, None)
    return await run_in_threadpool(
        _as_told, session, account, report, task_id=task_id, found_by=found_by
    )


def _as_told(
    session: Session,
    account: Account,
    report: dict[str, Any],
    *,
    task_id: str | None,
    found_by: str | None,
) -> dict[str, Any]:
    """``report`` as ``account`` may read it, with the task it names: the task's id only for
    the task's own account or an admin, and every other task id in it (the manifest's
    ``task`` parameter, whatever else carries one) withheld likewise."""
    report["task"] = None
    if task_id is not None:
        task = session.get(Task, task_id)
        yours = task is not None and task.account_id == account.id
        report["task"] = {
            "id": task_id,
            "on_this_server": task is not None,
            "yours": yours,
            "found_by": found_by,
        }
        if account.role is Role.admin and not yours:
            owner = task.account_id if task is not None else None
            detail = {"owner": owner, "found_by": found_by}
            audit.record(session, account.id, "verify.reveal_task", target=task_id, detail=detail)
            session.commit()
    named = set(TASK_ID.findall(json.dumps(report, default=str)))
    if account.role is Role.admin or not named:
        return report
    own = select(Task.id).where(Task.id.in_(named), Task.account_id == account.id)
    hidden = named - set(session.scalars(own))
    if report["task"] is not None and report["task"]["id"] in hidden:
        report["task"]["id"] = None
    return {key: _withhold(value, hidden) for key, value in report.items()}


def _withhold(value: Any, hidden: set[str]) -> Any:
    """``value`` (a JSON value) with each task id in ``hidden`` replaced by ``WITHHELD``."""
    if isinstance(value, str):
        return TASK_ID.sub(lambda m: WITHHELD if m.group(0) in hidden else m.group(0), value)
    if isinstance(value, dict):
        return {key: _withhold(item, hidden) for key, item in value.items()}
    if isinstance(value, list):
        return [_withhold(item, hidden) for item in value]
    return value
