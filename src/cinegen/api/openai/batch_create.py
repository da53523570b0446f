"""Making a batch from the caller's JSONL file: its endpoint and window checked, its lines
read (``batch_input.py``) and stored with the batch in one commit, or the batch refused
whole with each bad line named. What the batch then does: ``batch_work.py``."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy.orm import Session

from cinegen.api.errors import ApiError
from cinegen.api.openai.batch_input import read_lines
from cinegen.api.openai.files import expiry_seconds
from cinegen.config import Settings
from cinegen.errors import excerpt
from cinegen.jobs import webhooks
from cinegen.store.models import ApiKey, Batch, BatchRequest, BatchState, StoredFile, new_id, utcnow

ENDPOINTS = ("/v1/videos",)
COMPLETION_WINDOWS = ("24h",)


def check_choices(endpoint: Any, completion_window: Any) -> None:
    for param, value, allowed in (
        ("endpoint", endpoint, ENDPOINTS),
        ("completion_window", completion_window, COMPLETION_WINDOWS),
    ):
        if value not in allowed:
            raise ApiError(
                400,
                f"{param} must be one of: {', '.join(allowed)} (got {excerpt(value)}); this "
                "server makes videos",
                code="invalid_value",
                param=param,
            )


def create(
    session: Session,
    key: ApiKey,
    *,
    input_file_id: Any,
    endpoint: Any,
    completion_window: Any,
    metadata: dict[str, str] | None,
    output_expires_after: dict[str, Any] | None = None,
    settings: Settings,
) -> Batch:
    """A batch of the lines of the caller's file ``input_file_id``: refused whole (state
    failed, its ``errors`` naming each bad line) or in progress (``refresh`` queues its
    lines). Its output and error files expire ``output_expires_after`` after they are
    written (OpenAI's anchor is the file's creation), or never."""
    check_choices(endpoint, completion_window)
    output_expires = _output_expiry(output_expires_after)
    stored = _input_file(session, key, input_file_id)
    try:
        data = (settings.data_dir / stored.path).read_bytes()
    except FileNotFoundError:  # deleted between the look-up and the read
        raise _no_input_file(input_file_id) from None
    lines, errors = read_lines(data, endpoint)
    now = utcnow()
    # The batch and all its lines in one commit: no restart finds half of them (its
    # ``validating`` is that moment, never stored).
    batch = Batch(
        id=new_id("batch"),
        account_id=key.account_id,
        key_id=key.id,
        input_file_id=stored.id,
        endpoint=endpoint,
        completion_window=completion_window,
        state=BatchState.failed if errors else BatchState.in_progress,
        meta=metadata,
        errors=errors or None,
        created_at=now,
        failed_at=now if errors else None,
        in_progress_at=None if errors else now,
        expires_at=now + timedelta(hours=24),
        output_expires_seconds=output_expires,
    )
    session.add(batch)
    if errors:
        webhooks.emit(session, key.account_id, "batch.failed", batch.id)
    else:
        session.add_all(
            BatchRequest(batch_id=batch.id, line=line.number, custom_id=line.custom_id,
                         body=line.body)
            for line in lines
        )  # fmt: skip
    session.commit()
    return batch


def _output_expiry(value: dict[str, Any] | None) -> int | None:
    if value is None:
        return None
    params = ("output_expires_after.anchor", "output_expires_after.seconds")
    return expiry_seconds(value.get("anchor"), value.get("seconds"), params=params)


def _input_file(session: Session, key: ApiKey, file_id: Any) -> StoredFile:
    stored = session.get(StoredFile, file_id) if isinstance(file_id, str) else None
    if (
        stored is None
        or stored.account_id != key.account_id
        or stored.purpose != "batch"
        or stored.deleted_at is not None
    ):
        raise _no_input_file(file_id)
    return stored


def _no_input_file(file_id: Any) -> ApiError:
    return ApiError(
        400,
        f"input_file_id: no file {excerpt(file_id)} of purpose batch among this account's "
        "files (upload one with POST /v1/files, purpose batch)",
        code="invalid_value",
        param="input_file_id",
    )
