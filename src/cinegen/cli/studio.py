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

from cinegen.cli.serve import (
    HostOption,
    PortOption,
    RunningServer,
    WorkersOption,
    run_server,
    settings_with,
)
from cinegen.cli.terminal import err
from cinegen.config import Settings
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

    def welcome(url: str) -> None:
        link = f"{url}/sign-in/link/{owner_link(settings)}"
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


def owner_link(settings: Settings) -> str:
    """A one-time sign-in link token for the owner's admin key (made on first use)."""
    sessions = open_database(settings.data_dir, settings.database_url)
    with sessions() as session:
        owner = session.scalar(select(Account).where(Account.name == OWNER_ACCOUNT))
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
            made = create_key(
                session, OWNER_KEY, account=OWNER_ACCOUNT, role=Role.admin, actor=cli_actor()
            )
            key = made.key
        return make_link(session, key)
