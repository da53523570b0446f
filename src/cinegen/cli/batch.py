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
) -> None:
    """Queue a file of video requests as one batch, follow it, and say where its output and
    error lines are."""
    try:
        settings = _settings()
    except SpecError as exc:
        _fail(str(exc), 2)
    sessions = database()
    with sessions() as session:
        batch_id = _create(session, key, file, settings=settings)
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


def _create(session: Session, key_id: str, file: Path, *, settings: Settings) -> str:
    key = session.get(ApiKey, key_id)
    if key is None or key.revoked_at is not None:
        _fail(f"--key: no live API key {key_id!r} (`cinegen keys list` shows them)", 2)
    stored = files.store(
        session, key.account_id, file.read_bytes(), filename=file.name, purpose="batch",
        data_dir=settings.data_dir,
    )  # fmt: skip
    try:
        made = batch_create.create(
            session, key, input_file_id=stored.id, endpoint="/v1/videos",
            completion_window="24h", metadata=None, settings=settings,
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
