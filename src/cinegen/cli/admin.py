"""``cinegen admin`` (the all-access switch) and ``cinegen audit`` (the log), on the same
database as ``cinegen serve``: a suspension here refuses every non-admin request from the
next one on, as the admin API's does."""

from __future__ import annotations

import json
from typing import Annotated

import typer
from rich.table import Table

from cinegen.cli.keys import database
from cinegen.cli.terminal import err, out
from cinegen.store import access, audit
from cinegen.store.audit import cli_actor

admin_app = typer.Typer(no_args_is_help=True, help="Suspend and resume all non-admin access.")


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
