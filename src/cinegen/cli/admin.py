"""``cinegen admin`` (the all-access switch) and ``cinegen audit`` (the log), on the same
database as ``cinegen serve``: a suspension here refuses every non-admin request from the
next one on, as the admin API's does."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Annotated

import typer
from rich.table import Table

from cinegen.cli.keys import database
from cinegen.cli.terminal import err, out
from cinegen.cli.webhook_urls import webhooks_app
from cinegen.config import Settings
from cinegen.jobs import presence
from cinegen.store import access, audit
from cinegen.store.audit import cli_actor
from cinegen.store.models import WorkerRow, utcnow

admin_app = typer.Typer(
    no_args_is_help=True,
    help="Suspend and resume all non-admin access; list the workers; approve webhook URLs.",
)
admin_app.add_typer(webhooks_app, name="webhooks")


def _say_access() -> None:
    with database()() as session:
        switch = access.suspension(session)
        if switch is None:
            out.print("access: open")
        else:
            out.print(
                f"access: SUSPENDED since {switch.since:%Y-%m-%d %H:%M:%S} UTC by "
                f"{switch.actor}: {switch.reason}"
            )


@admin_app.command("status")
def status() -> None:
    """Say whether access is open or suspended."""
    _say_access()


@admin_app.command("suspend")
def suspend(
    reason: Annotated[str, typer.Option(help="Why, for the audit log and the refusals.")],
) -> None:
    """Refuse every non-admin request from the next one on; queued tasks wait, none lost."""
    if not reason.strip():
        err.print("[bold red]error:[/] --reason must say why")
        raise typer.Exit(2)
    with database()() as session:
        access.suspend(session, cli_actor(), reason.strip())
    _say_access()


@admin_app.command("resume")
def resume() -> None:
    """Open access again; queued tasks go on."""
    with database()() as session:
        access.resume(session, cli_actor())
    _say_access()


@admin_app.command("workers")
def workers(
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object per line.")] = False,
) -> None:
    """List the workers: what each is doing, its loaded models, memory and last beat."""
    sessions = database()
    gone_after = Settings().queue.beat_s * 3
    with sessions() as session:
        rows = presence.listing(session)
    now = utcnow()
    if as_json:
        for row in rows:
            record = {**_worker_record(row), "state": _worker_state(row, now, gone_after)}
            out.print(json.dumps(record), markup=False)
        return
    if not rows:
        out.print("no workers: start one with `cinegen worker`")
        return
    table = Table("worker", "state", "device", "models loaded", "memory (GiB)", "last beat")
    for row in rows:
        memory = " / ".join(_gib(n) for n in (row.free_bytes, row.capacity_bytes))
        ago = f"{(now - row.last_beat).total_seconds():.0f} s ago"
        models = ", ".join(row.models) or "none"
        state = _worker_state(row, now, gone_after)
        table.add_row(row.name, state, row.device, models, f"{memory} free/usable", ago)
    out.print(table)


def _worker_state(row: WorkerRow, now: datetime, gone_after: float) -> str:
    """What a worker row says: silent (its beats stopped), draining, working or idle."""
    silent = (now - row.last_beat).total_seconds()
    if silent > gone_after:
        return f"silent {silent:.0f} s"
    if row.draining:
        return "draining"
    return f"working on {row.task_id}" if row.task_id else "idle"


def _worker_record(row: WorkerRow) -> dict[str, object]:
    return {
        "name": row.name,
        "device": row.device,
        "models": row.models,
        "free_bytes": row.free_bytes,
        "capacity_bytes": row.capacity_bytes,
        "task_id": row.task_id,
        "started_at": row.started_at.isoformat(),
        "last_beat": row.last_beat.isoformat(),
    }


def _gib(n: int | None) -> str:
    return "-" if n is None else f"{n / 1024**3:.1f}"


def audit_command(
    limit: Annotated[int, typer.Option(help="Show the last N lines.", min=1)] = 50,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object per line.")] = False,
) -> None:
    """Read the audit log: admin actions, key changes, suspensions, reviews and refusals."""
    with database()() as session:
        lines = audit.last(session, limit)
        if as_json:
            for e in lines:
                record = {
                    "id": e.id,
                    "at": e.at.isoformat(),
                    "actor": e.actor,
                    "action": e.action,
                    "target": e.target,
                    "detail": e.detail,
                }
                out.print(json.dumps(record), markup=False)
            return
        table = Table("id", "at (UTC)", "actor", "action", "target", "detail")
        for e in lines:
            detail = json.dumps(e.detail) if e.detail else ""
            when = f"{e.at:%Y-%m-%d %H:%M:%S}"
            table.add_row(str(e.id), when, e.actor, e.action, e.target or "", detail)
        out.print(table)
