"""Claims that route: an account's first task before any backlog, a task past the wait bound
next, then the worker's loaded model, then accounts' turns, then age; a task whose model
another worker has loaded is left to it; a task too large for a worker waits for one that
can hold it, and a task no live worker could ever hold fails saying so. Each rule of
``routing.RANKING`` and ``routing.LEAVE`` has a pure test below that fails without it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import update

from cinegen.config import Settings
from cinegen.jobs import presence
from cinegen.jobs import worker as worker_module
from cinegen.jobs.presence import Beat
from cinegen.jobs.queue import UNSERVABLE, QueuePolicy, claim, submit
from cinegen.jobs.routing import Demand, GiB, Profile, Routing, Sizer, Waiting, route
from cinegen.jobs.worker import Worker
from cinegen.store.keys import create_key
from cinegen.store.models import Task, TaskState, utcnow

ROUTING = Routing(max_wait_s=120, beat_s=10, sizer=Sizer(Settings()))
POLICY = QueuePolicy(lease_seconds=30, routing=ROUTING)
# wan-2.2-t2v (two 14 B experts) needs 25.9 GiB at its smallest tier; ltx-video 3.8 GiB.
BIG, SMALL = "wan-2.2-t2v", "ltx-video"


def _spec(model: str) -> dict:
    return {"prompt": "a red circle moving left over the ocean", "model": model, "seed": 1}


@pytest.fixture
def account(sessions) -> str:
    with sessions() as session:
        return create_key(session, "tester").key.account_id


def _submit(sessions, account: str, model: str, *, waited_s: float = 0.0) -> str:
    with sessions() as session:
        task_id = submit(session, account, _spec(model)).id
        if waited_s:
            earlier = utcnow() - timedelta(seconds=waited_s)
            session.execute(update(Task).where(Task.id == task_id).values(created_at=earlier))
            session.commit()
        return task_id


def _claim(sessions, worker: Profile) -> str | None:
    with sessions() as session:
        task = claim(session, worker, POLICY)
        return task.id if task else None


def _task(sessions, task_id: str) -> Task:
    with sessions() as session:
        return session.get(Task, task_id)


def _online(sessions, worker: Profile, *, silent_s: float = 0.0) -> None:
    with sessions() as session:
        presence.beat(session, Beat(worker), now=utcnow() - timedelta(seconds=silent_s))


NOW = datetime(2026, 12, 7, 12, tzinfo=UTC)


def _waiting(task_id: str, account: str, model: str, *, waited_s: float) -> Waiting:
    created = NOW - timedelta(seconds=waited_s)
    return Waiting(task_id, account, "artist", created, Demand(model))


def _first(waiting: list[Waiting], me: Profile, *, served: dict[str, int],
           fleet: tuple[Profile, ...] = ()) -> str | None:  # fmt: skip
    found = route(waiting, me=me, fleet=[me, *fleet], served=served, now=NOW, routing=ROUTING)
    return found.ranked[0] if found.ranked else None


LTX = Profile("ltx-worker", models=(SMALL,))


def test_rule_first_an_accounts_first_task_goes_before_an_overdue_loaded_backlog():
    flood = [_waiting(f"f{i}", "flood", SMALL, waited_s=600 - i) for i in range(5)]
    single = _waiting("single", "one-off", "wan", waited_s=1)
    assert _first([*flood, single], LTX, served={"flood": 4}) == "single"


def test_rule_overdue_a_task_past_the_bound_goes_before_a_loaded_model():
    overdue = _waiting("overdue", "a", "wan", waited_s=ROUTING.max_wait_s + 1)
    loaded = _waiting("loaded", "b", SMALL, waited_s=1)
    assert _first([loaded, overdue], LTX, served={"a": 3, "b": 1}) == "overdue"


def test_rule_loaded_a_loaded_model_goes_before_an_accounts_earlier_turn():
    due = _waiting("due", "a", "wan", waited_s=60)
    loaded = _waiting("loaded", "b", SMALL, waited_s=1)
    assert _first([due, loaded], LTX, served={"a": 1, "b": 3}) == "loaded"


def test_rule_turn_the_account_served_less_goes_first():
    busy = _waiting("busy", "a", "wan", waited_s=60)
    idle = _waiting("idle", "b", "wan", waited_s=1)
    assert _first([busy, idle], LTX, served={"a": 3, "b": 1}) == "idle"


def test_rule_age_the_oldest_goes_first_among_equals():
    newer = _waiting("newer", "a", "wan", waited_s=1)
    older = _waiting("older", "b", "wan", waited_s=60)
    assert _first([newer, older], LTX, served={"a": 1, "b": 1}) == "older"


def test_leave_a_task_whose_model_another_worker_has_loaded_is_left_to_it():
    ltx = [_waiting(f"l{i}", f"a{i}", SMALL, waited_s=10 + i) for i in range(3)]
    idle = Profile("idle")
    assert _first(ltx[:2], idle, served={}, fleet=(LTX,)) is None  # two: LTX's next two
    assert _first(ltx[:2], LTX, served={}, fleet=(idle,)) == "l1"
    assert _first(ltx, idle, served={}, fleet=(LTX,)) == "l2"  # three: more than it can take
    late = _waiting("late", "b", SMALL, waited_s=ROUTING.max_wait_s)
    assert _first([late], idle, served={}, fleet=(LTX,)) == "late"  # the bound


def test_leave_depth_is_the_operators_setting_and_0_never_leaves_a_task(monkeypatch):
    monkeypatch.setenv("CINEGEN_QUEUE__LEAVE_DEPTH", "0")
    never = Routing.configured(Settings())
    assert never.leave_depth == 0
    alone = [_waiting("l0", "a0", SMALL, waited_s=10)]
    idle = Profile("idle")
    found = route(alone, me=idle, fleet=[idle, LTX], served={}, now=NOW, routing=never)
    assert found.ranked == ["l0"]  # taken here, not left to LTX
    assert _first(alone, idle, served={}, fleet=(LTX,)) is None  # the default (2) leaves it
    monkeypatch.setenv("CINEGEN_QUEUE__LEAVE_DEPTH", "-1")
    with pytest.raises(ValueError, match="leave_depth"):
        Settings()


def test_the_oldest_first_policy_takes_the_oldest_whatever_is_loaded():
    older = _waiting("older", "a", "wan", waited_s=60)
    loaded = _waiting("loaded", "b", SMALL, waited_s=1)
    plain = Routing(policy="oldest_first", sizer=ROUTING.sizer)
    found = route([loaded, older], me=LTX, fleet=[LTX], served={"a": 5}, now=NOW, routing=plain)
    assert found.ranked == ["older", "loaded"]


def test_sizer_reads_the_memory_tiers_need():
    assert ROUTING.sizer.demand(_spec(BIG)).need / GiB == pytest.approx(25.85, abs=0.01)
    assert ROUTING.sizer.demand({"prompt": "x"}).model == "cinegen-tiny"  # the default model
    assert ROUTING.sizer.demand(_spec("no-such-model")).model is None


def test_a_worker_takes_its_loaded_models_task_before_an_older_one(sessions, account):
    older = _submit(sessions, account, "wan", waited_s=30)
    newer = _submit(sessions, account, SMALL)
    assert _claim(sessions, Profile("ltx-worker", models=(SMALL,))) == newer
    assert _claim(sessions, Profile("ltx-worker-2", models=(SMALL,))) == older


def test_a_worker_leaves_a_task_to_the_live_worker_that_has_its_model_loaded(sessions, account):
    ltx = _submit(sessions, account, SMALL, waited_s=30)
    loaded = Profile("ltx-worker", models=(SMALL,))
    _online(sessions, loaded)
    assert _claim(sessions, Profile("fresh")) is None
    assert _task(sessions, ltx).state is TaskState.queued
    assert _claim(sessions, loaded) == ltx


def test_a_task_past_the_wait_bound_goes_before_loaded_models(sessions, account):
    overdue = _submit(sessions, account, "wan", waited_s=ROUTING.max_wait_s + 1)
    _submit(sessions, account, SMALL)
    assert _claim(sessions, Profile("ltx-worker", models=(SMALL,))) == overdue


def test_a_task_too_large_for_the_worker_waits_for_one_that_can_hold_it(sessions, account):
    big = _submit(sessions, account, BIG, waited_s=30)
    small = _submit(sessions, account, SMALL)
    large = Profile("h100", capacity=80 * GiB)
    _online(sessions, large)  # alive: the big task is servable, by it
    little = Profile("l4", capacity=24 * GiB)
    assert _claim(sessions, little) == small
    assert _claim(sessions, little) is None  # the big one is left queued
    assert _task(sessions, big).state is TaskState.queued
    assert _claim(sessions, large) == big


def test_a_worker_whose_device_another_program_fills_leaves_big_tasks_until_it_is_free(
    sessions, account, monkeypatch, tmp_path
):
    device = {"free": 70 * GiB}  # an 80 GiB card; the worker holds 4 GiB of it
    monkeypatch.setattr(worker_module, "free_bytes", lambda name: device["free"])
    monkeypatch.setattr(worker_module, "held_bytes", lambda name: 4 * GiB)
    gpu = Worker(sessions, tmp_path, engine=None, policy=POLICY, device="cuda:0",
                 capacity=80 * GiB)  # fmt: skip
    assert gpu.profile().capacity == 74 * GiB
    big, small = _submit(sessions, account, BIG, waited_s=30), _submit(sessions, account, SMALL)
    device["free"] = 2 * GiB  # a notebook on the same card takes 68 GiB
    with sessions() as session:
        presence.beat(session, gpu.news())
        (row,) = presence.listing(session)
    assert (row.free_bytes, row.capacity_bytes) == (2 * GiB, 80 * GiB)
    assert _claim(sessions, gpu.profile()) == small  # 6 GiB: ltx-video's 3.8 fits
    assert _claim(sessions, gpu.profile()) is None
    assert _task(sessions, big).state is TaskState.queued  # waiting, not failed: 80 GiB card
    device["free"] = 70 * GiB  # the notebook is closed
    assert _claim(sessions, gpu.profile()) == big


def test_a_task_no_live_worker_could_hold_fails_saying_so(sessions, account):
    big = _submit(sessions, account, BIG)
    small = _submit(sessions, account, SMALL)
    _online(sessions, Profile("gone-h100", capacity=80 * GiB), silent_s=3 * ROUTING.beat_s + 1)
    _online(sessions, Profile("a10", capacity=16 * GiB))
    assert _claim(sessions, Profile("l4", capacity=24 * GiB)) == small
    failed = _task(sessions, big)
    assert failed.state is TaskState.failed and failed.error_code == UNSERVABLE
    assert failed.error_message.startswith(
        "no worker can hold wan-2.2-t2v: it needs 25.9 GiB of device memory and the most any "
        "live worker has is 24.0 GiB"
    )


def test_a_worker_with_unplanned_memory_can_hold_anything(sessions, account):
    big = _submit(sessions, account, BIG)
    _online(sessions, Profile("cpu-box"))  # a CPU worker: memory not planned
    assert _claim(sessions, Profile("l4", capacity=24 * GiB)) is None
    assert _task(sessions, big).state is TaskState.queued
    assert _claim(sessions, Profile("cpu-box")) == big


def test_a_handed_back_task_is_queued_uncounted_unless_its_cancel_was_asked(sessions, account):
    from cinegen.jobs.queue import cancel, release

    kept, cancelled = _submit(sessions, account, SMALL), _submit(sessions, account, SMALL)
    with sessions() as session:
        for _ in range(2):
            claim(session, "draining", POLICY)
        cancel(session, cancelled)
        assert release(session, kept, worker="draining", why="its worker is stopping")
        assert not release(session, cancelled, worker="draining", why="its worker is stopping")
        assert not release(session, kept, worker="someone-else", why="no")
    back = _task(sessions, kept)
    assert (back.state, back.attempts, back.lease_owner) == (TaskState.queued, 0, None)
    assert _task(sessions, cancelled).state is TaskState.running  # its worker ends it cancelled
