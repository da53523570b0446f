"""`cinegen keys` as an operator runs it: the key printed once, listed without it, revoked."""

from __future__ import annotations

import json

import pytest

from cinegen.store.db import open_database
from cinegen.store.keys import authenticate

from .test_cli import cinegen

pytestmark = pytest.mark.slow  # runs the command in subprocesses


def test_create_list_revoke(tmp_path):
    env = {"CINEGEN_DATA_DIR": str(tmp_path / "data")}
    created = cinegen("keys", "create", "--name", "laptop", "--role", "admin", cwd=tmp_path, **env)
    assert created.returncode == 0, created.stderr
    secret = created.stdout.strip()
    assert secret.startswith("cg-") and "cannot be shown again" in created.stderr
    with open_database(tmp_path / "data")() as session:
        assert authenticate(session, secret).role.value == "admin"

    listed = cinegen("keys", "list", "--json", cwd=tmp_path, **env)
    (row,) = json.loads(listed.stdout)
    assert row["name"] == "laptop" and row["revoked_at"] is None
    assert secret not in listed.stdout and secret.startswith(row["prefix"])

    revoked = cinegen("keys", "revoke", row["id"], cwd=tmp_path, **env)
    assert revoked.returncode == 0 and row["id"] in revoked.stdout
    with open_database(tmp_path / "data")() as session:
        assert authenticate(session, secret) is None


def test_mistakes_name_what_to_do(tmp_path):
    env = {"CINEGEN_DATA_DIR": str(tmp_path / "data")}
    unknown = cinegen("keys", "revoke", "key_nope", cwd=tmp_path, **env)
    assert unknown.returncode == 2 and "keys list" in unknown.stderr
    bad_role = cinegen("keys", "create", "--name", "x", "--role", "boss", cwd=tmp_path, **env)
    assert bad_role.returncode == 2 and "artist" in bad_role.stderr
    cinegen("keys", "create", "--name", "ada", cwd=tmp_path, **env)
    clash = cinegen("keys", "create", "--name", "ada2", "--account", "ada", "--role", "admin",
                    cwd=tmp_path, **env)  # fmt: skip
    assert clash.returncode == 2 and "exists with role artist" in clash.stderr


def test_a_key_gets_its_own_quota_and_loses_it_again(tmp_path):
    env = {"CINEGEN_DATA_DIR": str(tmp_path / "data")}
    cinegen("keys", "create", "--name", "intern", cwd=tmp_path, **env)
    (row,) = json.loads(cinegen("keys", "list", "--json", cwd=tmp_path, **env).stdout)
    set_ = cinegen("keys", "quota", row["id"], "--videos-per-day", "5", "--max-seconds", "4",
                   "--max-active-tasks", "2", cwd=tmp_path, **env)  # fmt: skip
    assert set_.returncode == 0 and "videos_per_day" in set_.stdout, set_.stderr
    (row,) = json.loads(cinegen("keys", "list", "--json", cwd=tmp_path, **env).stdout)
    assert row["quota"] == {"videos_per_day": 5, "max_seconds": 4.0, "max_active_tasks": 2}
    narrow = cinegen("keys", "list", cwd=tmp_path, COLUMNS="60", **env).stdout
    assert row["id"] in narrow  # whole, however narrow the terminal
    cleared = cinegen("keys", "quota", row["prefix"], "--clear", cwd=tmp_path, **env)
    assert cleared.returncode == 0 and "its role's" in cleared.stdout
    nothing = cinegen("keys", "quota", row["id"], cwd=tmp_path, **env)
    assert nothing.returncode == 2 and "--clear" in nothing.stderr
