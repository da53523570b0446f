"""Fair share: accounts take turns among waiting tasks, weighted by role; a flood of one
account's tasks delays another account's first task by at most one render."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import update

from cinegen.config import Settings
from cinegen.jobs.queue import QueuePolicy, claim, finish, submit
from cinegen.jobs.routing import Profile, Routing, Sizer
from cinegen.store.keys import create_key
from cinegen.store.models import Role, Task, TaskState, utcnow

WEIGHTS = {"artist": 1.0, "reviewer": 1.0, "admin": 2.0}
POLICY = QueuePolicy(
    lease_seconds=30, routing=Routing(max_wait_s=600, role_weights=WEIGHTS, sizer=Sizer(Settings()))
)


def _spec(i: int, model: str = "cinegen-tiny") -> dict:
    return {"prompt": f"a red circle moving left, take {i}", "model": model, "seed": i}


def _account(sessions, name: str, role: Role = Role.artist) -> str:
    with sessions() as session:
        return create_key(session, name, role=role).key.account_id


def _queue(sessions, account: str, n: int, model: str = "cinegen-tiny") -> list[str]:
    with sessions() as session:
        return [submit(session, account, _spec(i, model)).id for i in range(n)]


def _render_in_turn(sessions, n: int) -> list[str]:
    """One worker claims and finishes ``n`` tasks in a row: the order they were rendered."""
    order = []
    with sessions() as session:
        for _ in range(n):
            task = claim(session, "w1", POLICY)
            order.append(task.id)
            finish(session, task.id, worker="w1", state=TaskState.succeeded)
    return order


def test_a_flood_delays_anothers_first_task_by_one_render(sessions):
    flood = _queue(sessions, _account(sessions, "flooder"), 40)
    (single,) = _queue(sessions, _account(sessions, "one-off"), 1)
    assert _render_in_turn(sessions, 2) == [flood[0], single]


def test_a_first_task_goes_to_the_next_free_worker_while_a_flood_runs(sessions):
    flood = _queue(sessions, _account(sessions, "flooder"), 20)
    with sessions() as session:
        busy = [claim(session, f"gpu{i}", POLICY).id for i in range(3)]
    (single,) = _queue(sessions, _account(sessions, "one-off"), 1)
    with sessions() as session:
        assert claim(session, "gpu3", POLICY).id == single
    assert busy == flood[:3]


def test_accounts_with_backlogs_take_turns_weighted_by_role(sessions):
    admin = _queue(sessions, _account(sessions, "boss", Role.admin), 12)
    artist = _queue(sessions, _account(sessions, "artist"), 12)
    order = _render_in_turn(sessions, 9)
    who = ["admin" if t in admin else "artist" if t in artist else "?" for t in order]
    # turns: admin k/2, artist k/1; ties to the older task
    assert who == ["admin", "artist", "admin", "admin", "artist", "admin", "admin", "artist",
                   "admin"]  # fmt: skip
    assert [t for t in order if t in artist] == artist[:3]


def test_another_accounts_first_task_goes_before_the_workers_loaded_model(sessions):
    mine = _queue(sessions, _account(sessions, "flooder"), 5, model="ltx-video")
    (theirs,) = _queue(sessions, _account(sessions, "other"), 1, model="wan")
    ltx = Profile("ltx", models=("ltx-video",))
    with sessions() as session:
        first = claim(session, ltx, POLICY)
        finish(session, first.id, worker="ltx", state=TaskState.succeeded)
        second = claim(session, ltx, POLICY)
    assert [first.id, second.id] == [mine[0], theirs]


def test_a_first_task_goes_before_a_flood_past_the_wait_bound(sessions):
    flood = _queue(sessions, _account(sessions, "flooder"), 6, model="ltx-video")
    with sessions() as session:  # the flood has waited past the bound, oldest first
        for i, task_id in enumerate(flood):
            earlier = utcnow() - timedelta(seconds=900 - i)
            session.execute(update(Task).where(Task.id == task_id).values(created_at=earlier))
        session.commit()
    (single,) = _queue(sessions, _account(sessions, "one-off"), 1, model="wan")
    ltx = Profile("ltx", models=("ltx-video",))
    order = []
    with sessions() as session:
        for _ in range(3):
            task = claim(session, ltx, POLICY)
            order.append(task.id)
            finish(session, task.id, worker="ltx", state=TaskState.succeeded)
    assert order == [flood[0], single, flood[1]]


def test_role_weights_come_from_the_settings(monkeypatch):
    monkeypatch.setenv("CINEGEN_QUEUE__ROLE_WEIGHTS__ADMIN", "4")
    monkeypatch.setenv("CINEGEN_QUEUE__MAX_WAIT_S", "90")
    routing = Routing.configured(Settings())
    assert routing.role_weights == {"admin": 4.0} and routing.max_wait_s == 90
    assert routing.weight("admin") == 4.0 and routing.weight("artist") == 1.0


def test_a_misspelt_queue_setting_is_refused_by_name(monkeypatch):
    monkeypatch.setenv("CINEGEN_QUEUE__MAX_WAIT", "90")
    with pytest.raises(ValueError, match="max_wait"):
        Settings()
