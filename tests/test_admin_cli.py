"""`cinegen admin` and `cinegen audit` as an operator runs them, on the server's database."""

from __future__ import annotations

import json

import pytest

from cinegen.store import access
from cinegen.store.db import open_database

from .test_cli import cinegen

pytestmark = pytest.mark.slow  # runs the command in subprocesses


def test_suspend_resume_and_read_the_log(tmp_path):
    env = {"CINEGEN_DATA_DIR": str(tmp_path / "data")}
    assert cinegen("keys", "create", "--name", "laptop", cwd=tmp_path, **env).returncode == 0
    suspended = cinegen("admin", "suspend", "--reason", "a key leaked", cwd=tmp_path, **env)
    assert suspended.returncode == 0, suspended.stderr
    assert "SUSPENDED" in suspended.stdout and "a key leaked" in suspended.stdout
    with open_database(tmp_path / "data")() as session:  # what the server reads per request
        assert access.suspension(session).reason == "a key leaked"
    assert "SUSPENDED" in cinegen("admin", "status", cwd=tmp_path, **env).stdout
    resumed = cinegen("admin", "resume", cwd=tmp_path, **env)
    assert resumed.returncode == 0 and "access: open" in resumed.stdout

    log = cinegen("audit", "--json", cwd=tmp_path, **env)
    assert log.returncode == 0, log.stderr
    lines = [json.loads(line) for line in log.stdout.splitlines()]
    assert [line["action"] for line in lines] == ["key.create", "access.suspend", "access.resume"]
    assert lines[1]["detail"] == {"reason": "a key leaked"}
    assert all(line["actor"].startswith("cli") for line in lines)
    table = cinegen("audit", "--limit", "1", cwd=tmp_path, **env)
    assert "access.resume" in table.stdout and "key.create" not in table.stdout
    empty = cinegen("admin", "suspend", "--reason", " ", cwd=tmp_path, **env)
    assert empty.returncode == 2 and "--reason" in empty.stderr


def test_webhook_urls_approved_for_one_account_are_listed_and_withdrawn(tmp_path):
    env = {"CINEGEN_DATA_DIR": str(tmp_path / "data"),
           "CINEGEN_WEBHOOK_URLS": '["https://hooks.example.com/"]'}  # fmt: skip
    assert cinegen("keys", "create", "--name", "acme", cwd=tmp_path, **env).returncode == 0
    theirs = "https://acme.example/hooks/"
    allowed = cinegen("admin", "webhooks", "allow", theirs, "--account", "acme", cwd=tmp_path,
                      **env)  # fmt: skip
    assert allowed.returncode == 0, allowed.stderr
    for prefix, account, says in (("ftp://acme.example/", "acme", "PREFIX"),
                                  (theirs, "nobody", "keys list")):  # fmt: skip
        refused = cinegen("admin", "webhooks", "allow", prefix, "--account", account,
                          cwd=tmp_path, **env)  # fmt: skip
        assert refused.returncode == 2 and says in refused.stderr
    listed = json.loads(cinegen("admin", "webhooks", "list", "--json", cwd=tmp_path, **env).stdout)
    assert listed["deployment"] == ["https://hooks.example.com/"]
    assert [(a["account"], a["prefix"]) for a in listed["accounts"]] == [("acme", theirs)]

    gone = cinegen("admin", "webhooks", "disallow", theirs, "--account", "acme", cwd=tmp_path,
                   **env)  # fmt: skip
    assert gone.returncode == 0, gone.stderr
    listed = json.loads(cinegen("admin", "webhooks", "list", "--json", cwd=tmp_path, **env).stdout)
    assert listed["accounts"] == []
    again = cinegen("admin", "webhooks", "disallow", theirs, "--account", "acme", cwd=tmp_path,
                    **env)  # fmt: skip
    assert again.returncode == 2 and "not approved" in again.stderr
    actions = [
        json.loads(line)["action"]
        for line in cinegen("audit", "--json", cwd=tmp_path, **env).stdout.splitlines()
    ]
    assert actions[-2:] == ["webhook_url.allow", "webhook_url.disallow"]
