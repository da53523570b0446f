"""The all-access switch and the audit log, on SQLite and PostgreSQL."""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import delete, text, update
from sqlalchemy.exc import DBAPIError

from cinegen.jobs.queue import QueuePolicy, claim, submit
from cinegen.store import access, audit
from cinegen.store.keys import create_key, revoke_key
from cinegen.store.models import AuditEvent, Role

POLICY = QueuePolicy()


def test_the_audit_log_cannot_be_changed_or_deleted(sessions):
    with sessions() as session:
        audit.record(session, "cli:ada", "access.suspend", detail={"reason": "leak"})
        session.commit()
        sneaky = {  # ways around a plain DELETE, per database
            "sqlite": "INSERT OR REPLACE INTO audit_events (id, at, actor, action) "
            "VALUES (1, '2026-01-01', 'x', 'y')",
            "postgresql": "TRUNCATE audit_events",
        }[session.get_bind().dialect.name]
        for statement in (
            update(AuditEvent).values(actor="someone else"),
            delete(AuditEvent),
            text(sneaky),
        ):
            with pytest.raises(DBAPIError, match="append-only"):
                session.execute(statement)
                session.flush()
            session.rollback()
        (line,) = audit.read(session)
        assert (line.actor, line.action, line.detail) == ("cli:ada", "access.suspend",
                                                         {"reason": "leak"})  # fmt: skip


def test_key_changes_and_the_switch_are_logged_with_who_did_them(sessions):
    with sessions() as session:
        key = create_key(session, "laptop", actor="cli:ada").key
        revoke_key(session, key.id, actor="cli:bob")
        access.suspend(session, "acct_admin", "a key leaked")
        again = access.suspend(session, "acct_other", "twice")
        assert again.reason == "a key leaked"  # the first suspension stands
        assert access.resume(session, "acct_admin") and not access.resume(session, "x")
        lines = [(e.actor, e.action, e.target) for e in audit.read(session)]
    assert lines == [
        ("cli:ada", "key.create", key.id),
        ("cli:bob", "key.revoke", key.id),
        ("acct_admin", "access.suspend", None),
        ("acct_admin", "access.resume", None),
    ]


def test_while_suspended_workers_hold_non_admin_tasks_and_lose_none(sessions):
    with sessions() as session:
        artist = create_key(session, "artist").key.account_id
        admin = create_key(session, "root", role=Role.admin).key.account_id
        held = submit(session, artist, {"prompt": "a"}).id
        urgent = submit(session, admin, {"prompt": "b"}).id
        access.suspend(session, admin, "incident")
        assert claim(session, "w1", POLICY).id == urgent
        assert claim(session, "w1", POLICY) is None  # the artist's task waits, queued
        access.resume(session, admin)
        assert claim(session, "w1", POLICY).id == held


def test_log_lines_commit_in_the_order_of_their_ids(sessions):
    """A writer of the log waits while another's line is uncommitted, so a reader paging
    on from the last id it saw can never skip a line that commits later."""
    first = sessions()
    audit.record(first, "cli:ada", "access.suspend")
    first.flush()  # its id is taken; not committed yet
    done = threading.Event()

    def second_writer() -> None:
        with sessions() as session:
            audit.record(session, "cli:bob", "access.resume")
            session.commit()
        done.set()

    thread = threading.Thread(target=second_writer)
    thread.start()
    try:
        assert not done.wait(1.0), "a second line committed while the first was pending"
        with sessions() as reader:
            assert audit.read(reader) == []  # nothing yet that a later line could precede
    finally:
        first.commit()
        first.close()
    thread.join(timeout=30)
    with sessions() as reader:
        lines = audit.read(reader)
    assert [line.actor for line in lines] == ["cli:ada", "cli:bob"]
    assert lines[0].id < lines[1].id
