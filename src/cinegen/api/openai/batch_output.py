"""A batch's output and error files, written once every line has ended (``batch_work.py``):
one JSON line per request, in the shape of OpenAI's batch output. The lines whose video was
made go in the output file, every other (refused, never queued, failed, cancelled, expired,
deleted) in the error file; each file is stored (``files.py``, purpose ``batch_output``)
only if it has a line, expiring as the batch's ``output_expires_after`` says."""

from __future__ import annotations

import hashlib
import json
from typing import Any

from sqlalchemy.orm import Session

from cinegen.api.openai import files
from cinegen.api.openai.video_objects import video
from cinegen.config import Settings
from cinegen.store.models import Batch, BatchRequest, Task, TaskState


def succeeded(request: BatchRequest, found: dict[str, Task]) -> bool:
    """A line whose video was made (and that did not expire first): the output file's."""
    task = found.get(request.task_id) if request.task_id else None
    return request.error is None and task is not None and task.state is TaskState.succeeded


def store_files(
    session: Session, batch: Batch, found: dict[str, Task], *, settings: Settings
) -> None:
    """Store the batch's output and error files and name them on the batch (its
    ``output_file_id`` and ``error_file_id``); the caller commits the batch."""
    output: list[dict[str, Any]] = []
    errors: list[dict[str, Any]] = []
    for request in batch.requests:
        task = found.get(request.task_id) if request.task_id else None
        result = output_line(batch, request, task, settings=settings)
        (output if succeeded(request, found) else errors).append(result)
    for kind, lines in (("output", output), ("error", errors)):
        if lines:
            data = "".join(json.dumps(line) + "\n" for line in lines).encode()
            stored = files.store(
                session, batch.account_id, data, filename=f"{batch.id}_{kind}.jsonl",
                purpose="batch_output", data_dir=settings.data_dir,
                expires_after=batch.output_expires_seconds,
            )  # fmt: skip
            setattr(batch, f"{kind}_file_id", stored.id)


def output_line(
    batch: Batch, request: BatchRequest, task: Task | None, *, settings: Settings
) -> dict[str, Any]:
    """One line of the output or error file, in the shape of OpenAI's batch output:
    ``{id, custom_id, response: {status_code, request_id, body}, error}``."""
    digest = hashlib.sha256(f"{batch.id}:{request.line}".encode()).hexdigest()
    line: dict[str, Any] = {
        "id": f"batch_req_{digest[:24]}",
        "custom_id": request.custom_id,
        "response": None,
        "error": None,
    }
    request_id = f"req_{digest[24:48]}"
    if request.status_code is not None:  # refused: the answer a single create had
        answer = {"status_code": request.status_code, "request_id": request_id}
        line["response"] = {**answer, "body": request.error}
    elif request.error is not None:  # never queued, or expired (its task's end unreported)
        line["error"] = request.error
    elif task is not None:
        body = video(task, settings).model_dump(mode="json")
        line["response"] = {"status_code": 200, "request_id": request_id, "body": body}
        if body["error"] is not None:
            line["error"] = body["error"]
    else:
        line["error"] = {"code": "deleted", "message": "the video was deleted"}
    return line
