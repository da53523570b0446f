"""``cinegen studio``: the one-person way in. It starts the server for this data dir unless
one is running already, signs this machine's owner in and opens the studio in the browser.

The owner gets an admin key of their own (account ``studio-owner``, key ``studio``), made
once and never shown: the browser is signed in through a one-time link that works for two
minutes (``store.studio_sessions``), so no key is typed, printed, logged or kept in a
shell's history.
"""

from __future__ import annotations

import webbrowser
from pathlib import Path
from typing import Annotated

import typer
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from cinegen.cli.serve import (
    HostOption,
    PortOption,
    RunningServer,
    WorkersOption,
    run_server,
    settings_with,
)
from cinegen.cli.terminal import err
from cinegen.store.audit import cli_actor
from cinegen.store.db import open_database
from cinegen.store.keys import create_key
from cinegen.store.models import Account, ApiKey, Role
from cinegen.store.studio_sessions import LINK_LIFETIME, make_link

OWNER_ACCOUNT = "studio-owner"
OWNER_KEY = "studio"


def studio(
    host: HostOption = None,
    port: PortOption = None,
    workers: WorkersOption = None,
    browser: Annotated[
        bool, typer.Option(help="Open the browser (--no-browser: only print the link).")
    ] = True,
) -> None:
    """Open the studio: start the server if none runs for this data dir, sign in, browse."""
    settings = settings_with(host=host, port=port, workers=workers)
    sessions = open_database(settings.data_dir, settings.database_url)
    key_id = owner_key(sessions)  # before any server starts: a refusal stops here

    def welcome(url: str) -> None:
        with sessions() as session:
            token = make_link(session, session.get_one(ApiKey, key_id))
        link = f"{url}/sign-in/link/{token}"
        minutes = int(LINK_LIFETIME.total_seconds() // 60)
        err.print(f"cinegen studio · {url}")
        err.print(
            f"[dim]This link signs you in once, within {minutes} minutes (then run "
            f"`cinegen studio` again):[/]\n{link}"
        )
        if browser:
            webbrowser.open(link)

    running = RunningServer(Path(settings.data_dir)).url()
    if running is not None:
        welcome(running)
        return
    run_server(settings, on_ready=welcome)


def owner_key(sessions: sessionmaker[Session]) -> str:
    """The id of the owner's own admin key, made on first use."""
    with sessions() as session:
        owner = session.scalar(select(Account).where(Account.name == OWNER_ACCOUNT))
        if owner is not None and owner.role is not Role.admin:
            err.print(
                f"[bold red]error:[/] the account {OWNER_ACCOUNT!r} exists with role "
                f"{owner.role.value}; `cinegen studio` signs its owner in as an admin: give "
                "that account another name, or use `cinegen serve` and sign in with a key"
            )
            raise typer.Exit(2)
        key = None
        if owner is not None:
            key = session.scalar(
                select(ApiKey).where(
                    ApiKey.account_id == owner.id,
                    ApiKey.name == OWNER_KEY,
                    ApiKey.revoked_at.is_(None),
                )
            )
        if key is None:
            key = create_key(
                session, OWNER_KEY, account=OWNER_ACCOUNT, role=Role.admin, actor=cli_actor()
            ).key
        return key.id
