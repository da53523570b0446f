"""``cinegen studio``: starts the server for the data dir, signs the owner in through a
one-time link, and finds the running server the next time instead of starting another."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from cinegen.cli.serve import local_url
from cinegen.cli.studio import OWNER_ACCOUNT
from cinegen.store.db import open_database
from cinegen.store.keys import create_key
from cinegen.store.models import Role

from .servers import free_port

LINK = re.compile(r"(http://\S+)/sign-in/link/(\S+)")


def _studio(data_dir: Path, *args: str) -> subprocess.Popen[str]:
    env = {**os.environ, "CINEGEN_DATA_DIR": str(data_dir)}
    command = [sys.executable, "-m", "cinegen", "studio", "--no-browser", *args]
    return subprocess.Popen(command, env=env, stderr=subprocess.PIPE, text=True)


def _link(process: subprocess.Popen[str], timeout: float = 90) -> tuple[str, str]:
    assert process.stderr is not None
    deadline = time.monotonic() + timeout
    seen = []
    while time.monotonic() < deadline:
        line = process.stderr.readline()
        seen.append(line)
        if found := LINK.search(line):
            return found.group(1), found.group(0)
        if process.poll() is not None and not line:
            break
    raise AssertionError(f"no sign-in link printed: {''.join(seen)}")


@pytest.mark.slow
def test_studio_signs_the_owner_in_once_and_reuses_the_running_server(tmp_path: Path) -> None:
    server = _studio(tmp_path, "--port", str(free_port()), "--workers", "0")
    try:
        url, link = _link(server)
        assert (tmp_path / "server.json").is_file()
        with httpx.Client(base_url=url) as browser:
            signed_in = browser.get(link)
            assert signed_in.status_code == 303 and signed_in.headers["location"] == "/"
            cookie = signed_in.headers["set-cookie"].lower()
            assert "httponly" in cookie and "samesite=strict" in cookie
            page = browser.get("/")
            assert page.status_code == 200
            assert "studio-owner" in page.text and "(admin)" in page.text
        # The link works once: a second browser (or a replay from the scrollback) gets nothing.
        with httpx.Client(base_url=url) as stranger:
            assert stranger.get(link).status_code == 401
            assert "Sign in" in stranger.get("/").text

        # A second `cinegen studio` finds the running server and only signs in again.
        again = _studio(tmp_path)
        second_url, second_link = _link(again)
        assert again.wait(timeout=60) == 0
        assert second_url == url and second_link != link
        with httpx.Client(base_url=url) as browser:
            assert browser.get(second_link).status_code == 303
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=60)
    assert not (tmp_path / "server.json").exists()


def test_the_owner_account_taken_by_another_role_is_said_before_anything_starts(
    tmp_path: Path,
) -> None:
    with open_database(tmp_path)() as session:
        create_key(session, "laptop", account=OWNER_ACCOUNT, role=Role.artist)
    done = _studio(tmp_path, "--port", str(free_port()))
    assert done.wait(timeout=60) == 2
    assert done.stderr is not None
    said = " ".join(done.stderr.read().split())
    assert "'studio-owner' exists with role artist" in said
    assert not (tmp_path / "server.json").exists()


@pytest.mark.parametrize(
    ("host", "url"),
    [("0.0.0.0", "http://127.0.0.1:80"), ("::", "http://127.0.0.1:80"),
     ("::1", "http://[::1]:80"), ("studio.lan", "http://studio.lan:80")],
)  # fmt: skip
def test_the_link_names_an_address_a_browser_here_can_open(host: str, url: str) -> None:
    assert local_url(host, 80) == url
