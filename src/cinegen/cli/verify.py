"""``cinegen verify``: where a file came from, by its C2PA manifest and its invisible
watermark, checked against this server."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer

from cinegen.cli.terminal import _fail, _progress_bars, _settings, err, out
from cinegen.config import Settings
from cinegen.errors import SpecError


def verify(
    file: Annotated[Path, typer.Argument(help="A video or image (MP4, PNG, WebP, JPEG).")],
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
) -> None:
    """Say where a file came from: its C2PA manifest and its invisible watermark.

    Both are checked against this server: its certificate authority, and its tasks."""
    from cinegen.provenance.verify import verify as report_on

    if not file.is_file():
        _fail(f"file: no such file {file}", code=2)
    try:
        settings = _settings()
        with _progress_bars(err.is_terminal) as report:
            result = report_on(file, settings, lambda done, total: report("read", done, total))
    except (SpecError, ValueError) as exc:
        _fail(str(exc), code=2)
    if not result["task"]:
        result["task"] = _task_with_mark(settings, result)
    if as_json:
        out.print(json.dumps(result), markup=False)
        return
    c2pa, generator, mark = result["c2pa"], result["generator"], result["watermark"]
    out.print(f"{file}: C2PA {c2pa['state']}", markup=False)
    if generator:
        made = f"model {generator['model']}, preset {generator['preset']}, seed {generator['seed']}"
        out.print(f"  made by cinegen: {made}", markup=False)
    if mark["detected"]:
        where = "this server" if mark["this_server"] else f"server {mark['server']}"
        found = f"{mark['payload']} ({where}, confidence {mark['confidence']:.4f})"
        out.print(f"  invisible watermark {found}", markup=False)
    else:
        out.print("  no invisible watermark found", markup=False)
    if result["task"]:
        out.print(f"  task {result['task']}", markup=False)
    for problem in c2pa["problems"]:
        out.print(f"  problem: {problem}", markup=False)


def _task_with_mark(settings: Settings, report: dict[str, Any]) -> str | None:
    """The task on this server the watermark names, when this machine has its database."""
    from cinegen.provenance.verify import tasks_with_mark
    from cinegen.store.db import open_database

    if not report["watermark"].get("this_server"):
        return None
    if not settings.database_url and not (Path(settings.data_dir) / "cinegen.db").is_file():
        return None  # made by this server's CLI, which keeps no tasks
    with open_database(settings.data_dir, settings.database_url)() as session:
        marked = tasks_with_mark(session, report)
    return marked[0] if len(marked) == 1 else None
