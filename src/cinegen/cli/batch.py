"""``cinegen batch FILE.jsonl``: the OpenAI Batch API from the shell, on the server's own
database. The file is kept and the batch made by the same code as ``POST /v1/files`` and
``POST /v1/batches`` (``api/openai/batch_work.py``), under an API key's account, quota and
limits; the workers of ``cinegen serve`` or ``cinegen worker`` render its videos, and this
command follows them with a progress bar, then prints where the output lines are."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Annotated

import typer
from sqlalchemy.orm import Session, sessionmaker

from cinegen.api.errors import ApiError
from cinegen.api.openai import batch_create, batch_work, files
from cinegen.api.openai.batches import batch_object
from cinegen.cli.keys import database
from cinegen.cli.terminal import _fail, _progress_bars, _settings, err, out
from cinegen.config import Settings
from cinegen.errors import SpecError
from cinegen.store.models import ApiKey, Batch, BatchState, StoredFile

POLL_S = 1.0


def batch(
    file: Annotated[
        Path,
        typer.Argument(
            help="JSONL: one {custom_id, method, url, body} a line, as OpenAI's Batch API "
            "takes them (url /v1/videos, body as POST /v1/videos takes it).",
            exists=True,
            dir_okay=False,
        ),
    ],
    key: Annotated[
        str,
        typer.Option(
            help="The API key id (`cinegen keys list`) whose account, quota and "
            "limits the requests count against."
        ),
    ],
    wait: Annotated[
        bool, typer.Option(help="Follow the batch until it ends (workers render it).")
    ] = True,
    as_json: Annotated[bool, typer.Option("--json", help="The batch as one JSON object.")] = False,
    expires_after: Annotated[
        str | None,
        typer.Option(
            help="Delete the uploaded file this long after it is stored (7d, 12h, 90m or "
            "seconds; 1h to 30d), once its batch has ended. 30d if not given, as OpenAI's.",
        ),
    ] = None,
    output_expires_after: Annotated[
        str | None,
        typer.Option(
            help="Delete the batch's output and error files this long after they are made "
            "(as --expires-after). Kept until deleted if not given.",
        ),
    ] = None,
) -> None:
    """Queue a file of video requests as one batch, follow it, and say where its output and
    error lines are."""
    try:
        settings = _settings()
    except SpecError as exc:
        _fail(str(exc), 2)
    kept_for = _expiry(expires_after, "--expires-after")
    outputs_kept_for = _expiry(output_expires_after, "--output-expires-after")
    sessions = database()
    with sessions() as session:
        batch_id = _create(
            session, key, file, settings=settings, kept_for=kept_for,
            outputs_kept_for=outputs_kept_for,
        )  # fmt: skip
    if wait:
        try:
            with _progress_bars(enabled=not as_json) as report:
                while not _follow(sessions, batch_id, settings=settings, report=report):
                    time.sleep(POLL_S)
        except KeyboardInterrupt:  # the batch is the server's: it goes on without us
            err.print(f"batch {batch_id} goes on in the workers; GET /v1/batches/{batch_id}")
            raise typer.Exit(130) from None
    with sessions() as session:
        _say(session, batch_id, settings=settings, as_json=as_json)


_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def _expiry(value: str | None, flag: str) -> int | None:
    """``value`` (``7d``, ``12h``, ``90m``, ``45s`` or plain seconds) as seconds within
    OpenAI's bounds for a file's expiry, or None when not given."""
    if value is None:
        return None
    text = value.strip().lower()
    number, unit = (text[:-1], text[-1]) if text[-1:] in _UNITS else (text, "s")
    low, high = files.EXPIRY_SECONDS
    if number.isascii() and number.isdigit() and low <= int(number) * _UNITS[unit] <= high:
        return int(number) * _UNITS[unit]
    _fail(
        f"{flag} must be a duration from 1h ({low} s) to 30d ({high} s): a whole number of "
        f"seconds or one with s, m, h or d, such as 7d (got {value!r})",
        2,
    )


def _create(
    session: Session,
    key_id: str,
    file: Path,
    *,
    settings: Settings,
    kept_for: int | None,
    outputs_kept_for: int | None,
) -> str:
    key = session.get(ApiKey, key_id)
    if key is None or key.revoked_at is not None:
        _fail(f"--key: no live API key {key_id!r} (`cinegen keys list` shows them)", 2)
    stored = files.store(
        session, key.account_id, file.read_bytes(), filename=file.name, purpose="batch",
        data_dir=settings.data_dir, expires_after=kept_for,
    )  # fmt: skip
    output_expiry = None
    if outputs_kept_for is not None:
        output_expiry = {"anchor": "created_at", "seconds": outputs_kept_for}
    try:
        made = batch_create.create(
            session, key, input_file_id=stored.id, endpoint="/v1/videos",
            completion_window="24h", metadata=None, settings=settings,
            output_expires_after=output_expiry,
        )  # fmt: skip
    except ApiError as exc:
        _fail(exc.message, 2)
    for error in made.errors or []:
        err.print(f"[bold red]error:[/] {error['message']}", soft_wrap=True)
    if made.state is BatchState.failed:
        _fail(f"{file}: nothing was queued; mend the lines above and run it again", 2)
    err.print(f"batch {made.id}: {len(made.requests)} requests")
    return made.id


def _follow(
    sessions: sessionmaker[Session],
    batch_id: str,
    *,
    settings: Settings,
    report: Callable[[str, int, int], None],
) -> bool:
    """Move the batch on (a fresh session each time: what the workers wrote); True once it
    has ended."""
    with sessions() as session:
        found = session.get(Batch, batch_id)
        assert found is not None
        counts = batch_work.refresh(session, found, settings=settings)
        report("requests", counts.completed + counts.failed, counts.total)
        return found.state.ended


def _say(session: Session, batch_id: str, *, settings: Settings, as_json: bool) -> None:
    found = session.get(Batch, batch_id)
    assert found is not None
    counts = batch_work.refresh(session, found, settings=settings)
    if as_json:
        out.print(json.dumps(batch_object(found, counts).model_dump(mode="json")))
        return
    err.print(
        f"batch {found.id} {found.state.value}: {counts.completed} of {counts.total} "
        f"completed, {counts.failed} failed"
    )
    for kind, file_id in (("output", found.output_file_id), ("errors", found.error_file_id)):
        stored = session.get(StoredFile, file_id) if file_id else None
        if stored is not None and stored.deleted_at is None:  # deleted: its bytes are gone
            out.print(f"{kind}: {settings.data_dir / stored.path}")
    if not found.state.ended:
        err.print("it goes on in the workers; GET /v1/batches/{id} follows it")
