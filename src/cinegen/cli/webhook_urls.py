"""``cinegen admin webhooks``: the URL prefixes one account's webhook endpoints may use,
beside the deployment's (``CINEGEN_WEBHOOK_URLS``), on the same database as ``cinegen
serve`` (``store/webhook_urls.py``). A withdrawn prefix's endpoints are sent nothing more."""

from __future__ import annotations

import json
from typing import Annotated

import typer
from rich.table import Table

from cinegen.cli.keys import database
from cinegen.cli.terminal import _fail, out
from cinegen.config import Settings
from cinegen.store import webhook_urls
from cinegen.store.audit import cli_actor

webhooks_app = typer.Typer(
    no_args_is_help=True,
    help="Approve URL prefixes for one account's webhook endpoints; list and withdraw them.",
)

Account = Annotated[str, typer.Option(help="The account's name, as `cinegen keys list` shows.")]
Prefix = Annotated[
    str, typer.Argument(help="An http(s) URL: it and the paths below it, e.g. https://x.io/hooks/")
]


@webhooks_app.command("allow")
def allow(prefix: Prefix, account: Account) -> None:
    """Let the account's endpoints lie under PREFIX (no other account's)."""
    with database()() as session:
        try:
            added = webhook_urls.allow(session, account, prefix, actor=cli_actor())
        except (KeyError, ValueError) as exc:
            _fail(f"{exc.args[0]}" if isinstance(exc, KeyError) else f"PREFIX: {exc}", 2)
    out.print(f"{prefix} {'approved' if added else 'was already approved'} for {account!r}")


@webhooks_app.command("disallow")
def disallow(prefix: Prefix, account: Account) -> None:
    """Withdraw PREFIX from the account: its endpoints there are sent nothing more."""
    with database()() as session:
        try:
            webhook_urls.disallow(session, account, prefix, actor=cli_actor())
        except KeyError as exc:
            _fail(f"{exc.args[0]} (`cinegen admin webhooks list` shows what is)", 2)
    out.print(f"{prefix} withdrawn from {account!r}")


@webhooks_app.command("list")
def list_(as_json: Annotated[bool, typer.Option("--json", help="One JSON array.")] = False) -> None:
    """The deployment's prefixes (every account's) and each account's own."""
    with database()() as session:
        rows = [
            {"account": name, "prefix": a.prefix, "approved_by": a.approved_by,
             "approved_at": a.created_at.isoformat()}
            for name, a in webhook_urls.listing(session)
        ]  # fmt: skip
    everyone = Settings().webhook_urls
    if as_json:
        out.print(json.dumps({"deployment": everyone, "accounts": rows}), markup=False)
        return
    table = Table("account", "prefix", "approved by", "approved at (UTC)")
    for prefix in everyone:
        table.add_row("(every account)", prefix, "CINEGEN_WEBHOOK_URLS", "")
    for row in rows:
        table.add_row(*(str(row[k])[:19] if k == "approved_at" else str(row[k])
                        for k in ("account", "prefix", "approved_by", "approved_at")))  # fmt: skip
    out.print(table if everyone or rows else "no webhook URLs approved: webhooks are off")
