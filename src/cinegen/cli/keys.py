"""``cinegen keys``: create, list and revoke the API keys that the server accepts.

Every command opens the same database as ``cinegen serve`` (``CINEGEN_DATA_DIR`` or
``CINEGEN_DATABASE_URL``), so a key created here works at once and a revoked one fails on
its very next request.
"""

from __future__ import annotations

import json
from typing import Annotated

import typer
from pydantic import ValidationError
from rich.table import Table
from sqlalchemy.orm import Session, sessionmaker

from cinegen.cli.terminal import err, out
from cinegen.config import Settings
from cinegen.store.audit import cli_actor
from cinegen.store.db import open_database
from cinegen.store.keys import create_key, list_keys, revoke_key, set_quota
from cinegen.store.models import Role

keys_app = typer.Typer(no_args_is_help=True, help="Create, list and revoke API keys.")


def database() -> sessionmaker[Session]:
    """The service's database, as the settings name it; exit 2 on a bad setting."""
    try:
        settings = Settings()
    except (ValidationError, ValueError, OSError) as exc:
        err.print(f"[bold red]error:[/] settings: {exc}")
        raise typer.Exit(2) from None
    return open_database(settings.data_dir, settings.database_url)


@keys_app.command("create")
def create(
    name: Annotated[str, typer.Option(help="What the key is for, e.g. 'laptop'.")],
    account: Annotated[
        str | None, typer.Option(help="The account it acts for (default: NAME); made if new.")
    ] = None,
    role: Annotated[Role, typer.Option(help="The role of a new account.")] = Role.artist,
) -> None:
    """Create a key and print it once: only its hash is stored."""
    with database()() as session:
        try:
            new = create_key(session, name, account=account, role=role, actor=cli_actor())
        except ValueError as exc:
            err.print(f"[bold red]error:[/] {exc}")
            raise typer.Exit(2) from None
        owner = new.key.account
        out.print(new.secret)
        err.print(
            f"key {new.key.id} for account {owner.name!r} ({owner.role.value}); "
            "store it now: it cannot be shown again"
        )


@keys_app.command("list")
def list_(as_json: Annotated[bool, typer.Option("--json", help="One JSON array.")] = False) -> None:
    """Every key with its account, role and state; never the key itself."""
    with database()() as session:
        rows = [
            {
                "id": key.id,
                "prefix": key.prefix,
                "name": key.name,
                "account": key.account.name,
                "role": key.account.role.value,
                "created_at": key.created_at.isoformat(),
                "revoked_at": key.revoked_at.isoformat() if key.revoked_at else None,
                "quota": key.quota,  # its own limits over its role's, if any
            }
            for key in list_keys(session)
        ]
    if as_json:
        out.print(json.dumps(rows))
        return
    table = Table()
    # The id is what `revoke` and `quota` take: never cut short, however narrow the terminal.
    table.add_column(
        "id", no_wrap=True, min_width=max((len(str(r["id"])) for r in rows), default=2)
    )
    for name in ("starts with", "name", "account", "role", "created", "state"):
        table.add_column(name)
    for row in rows:
        state = f"revoked {str(row['revoked_at'])[:16]}" if row["revoked_at"] else "active"
        name, account, role = (str(row[column]) for column in ("name", "account", "role"))
        created = str(row["created_at"])[:16]
        table.add_row(str(row["id"]), f"{row['prefix']}…", name, account, role, created, state)
    out.print(table)


@keys_app.command("revoke")
def revoke(
    key: Annotated[str, typer.Argument(help="The key's id or the start `keys list` shows.")],
) -> None:
    """Revoke a key: its next request is refused."""
    with database()() as session:
        try:
            revoked = revoke_key(session, key, actor=cli_actor())
        except KeyError as exc:
            err.print(f"[bold red]error:[/] {exc.args[0]}")
            raise typer.Exit(2) from None
    out.print(f"revoked {revoked.id} ({revoked.name})")


@keys_app.command("quota")
def quota(
    key: Annotated[str, typer.Argument(help="The key's id or the start `keys list` shows.")],
    videos_per_day: Annotated[int | None, typer.Option(min=0)] = None,
    videos_per_month: Annotated[int | None, typer.Option(min=0)] = None,
    seconds_per_day: Annotated[float | None, typer.Option(min=0)] = None,
    seconds_per_month: Annotated[float | None, typer.Option(min=0)] = None,
    max_long_side: Annotated[int | None, typer.Option(min=16, help="Pixels.")] = None,
    max_seconds: Annotated[float | None, typer.Option(min=0.01, help="One video.")] = None,
    max_active_tasks: Annotated[
        int | None, typer.Option(min=1, help="Queued or running at once.")
    ] = None,
    clear: Annotated[bool, typer.Option(help="Back to the role's quota.")] = False,
) -> None:
    """Give a key its own quota over its role's (`CINEGEN_QUOTAS__<ROLE>__…`)."""
    limits = {
        "videos_per_day": videos_per_day,
        "videos_per_month": videos_per_month,
        "seconds_per_day": seconds_per_day,
        "seconds_per_month": seconds_per_month,
        "max_long_side": max_long_side,
        "max_seconds": max_seconds,
        "max_active_tasks": max_active_tasks,
    }
    chosen = {name: value for name, value in limits.items() if value is not None}
    if clear == bool(chosen):
        wanted = "give one or more limits (e.g. --videos-per-day 20), or --clear"
        err.print(f"[bold red]error:[/] {wanted}")
        raise typer.Exit(2)
    with database()() as session:
        try:
            changed = set_quota(session, key, None if clear else chosen, actor=cli_actor())
        except KeyError as exc:
            err.print(f"[bold red]error:[/] {exc.args[0]}")
            raise typer.Exit(2) from None
        shown = json.dumps(changed.quota) if changed.quota else "its role's"
    out.print(f"key {changed.id} ({changed.name}): quota {shown}")
