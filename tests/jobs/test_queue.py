"""The durable queue: conditional moves, leases, retries, cancellation, idempotency."""

from __future__ import annotations

import itertools
import threading
from datetime import timedelta

import pytest
from sqlalchemy import select

from cinegen.jobs import moves
from cinegen.jobs.moves import IllegalTransition
from cinegen.jobs.queue import (
    INTERRUPTED,
    LeaseLost,
    QueuePolicy,
    add_preview,
    cancel,
    claim,
    finish,
    report,
    requeue_expired,
    submit,
)
from cinegen.store.keys import create_key
from cinegen.store.models import Generation, Task, TaskEvent, TaskState, new_id, utcnow

POLICY = QueuePolicy(lease_seconds=30, max_attempts=2)
SPEC = {"prompt": "a red circle moving left over the ocean", "n_variants": 1}


@pytest.fixture
def account(sessions) -> str:
    with sessions() as session:
        return create_key(session, "tester").key.account_id


def _states(sessions, task_id):
    with sessions() as session:
        events = session.scalars(
            select(TaskEvent).where(TaskEvent.task_id == task_id).order_by(TaskEvent.id)
        )
        return [e.state.value for e in events]


def test_a_submitted_task_is_durable_and_claimed_once(sessions, account):
    with sessions() as session:
        task = submit(session, account, SPEC)
    with sessions() as session:  # another connection sees it: it was committed
        assert session.get(Task, task.id).state is TaskState.queued
        running = claim(session, "w1", POLICY)
        assert running.id == task.id and running.attempts == 1 and running.lease_owner == "w1"
        assert claim(session, "w2", POLICY) is None


def test_workers_racing_for_tasks_never_share_one(sessions, account):
    with sessions() as session:
        ids = {submit(session, account, SPEC).id for _ in range(24)}
    claimed: list[str] = []

    def work(name: str) -> None:
        with sessions() as session:
            while (task := claim(session, name, POLICY)) is not None:
                claimed.append(task.id)

    threads = [threading.Thread(target=work, args=(f"w{i}",)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert sorted(claimed) == sorted(ids)  # every task once, none twice


def test_progress_only_rises_and_success_stores_the_generations(sessions, account):
    with sessions() as session:
        task = submit(session, account, SPEC)
        claim(session, "w1", POLICY)
        assert report(session, task.id, worker="w1", progress=0.4, stage="denoising", policy=POLICY)
        assert report(session, task.id, worker="w1", progress=0.2, stage="decoding", policy=POLICY)
        assert session.get(Task, task.id, populate_existing=True).progress == 0.4
        generation = Generation(
            id=new_id("gen"), task_id=task.id, index=0, seed=7, width=64, height=64,
            n_frames=16, files={"video": "x.mp4"},
        )  # fmt: skip
        done = finish(
            session, task.id, worker="w1", state=TaskState.succeeded, generations=[generation]
        )
    assert done.state is TaskState.succeeded and done.progress == 1.0
    with sessions() as session:
        assert [g.seed for g in session.get(Task, task.id).generations] == [7]
    assert _states(sessions, task.id) == ["queued", "running", "running", "running", "succeeded"]


def test_a_worker_whose_lease_ran_out_cannot_finish(sessions, account):
    with sessions() as session:
        task = submit(session, account, SPEC)
        claim(session, "slow", POLICY)
        later = utcnow() + timedelta(seconds=POLICY.lease_seconds + 1)
        (requeued,) = requeue_expired(session, POLICY, now=later)
        assert requeued.state is TaskState.queued and requeued.lease_owner is None
        assert claim(session, "fast", POLICY).attempts == 2
        assert not report(
            session, task.id, worker="slow", progress=0.9, stage="denoising", policy=POLICY
        )
        with pytest.raises(LeaseLost):
            finish(session, task.id, worker="slow", state=TaskState.succeeded)
        assert session.get(Task, task.id, populate_existing=True).lease_owner == "fast"


def test_a_task_whose_workers_keep_dying_fails_as_interrupted(sessions, account):
    with sessions() as session:
        task = submit(session, account, SPEC)
        for _ in range(POLICY.max_attempts):
            claim(session, "doomed", POLICY)
            requeue_expired(session, POLICY, now=utcnow() + timedelta(minutes=5))
        failed = session.get(Task, task.id, populate_existing=True)
    assert failed.state is TaskState.failed and failed.error_code == INTERRUPTED
    assert failed.attempts == POLICY.max_attempts


def test_cancelling(sessions, account):
    with sessions() as session:
        queued = submit(session, account, SPEC)
        running = submit(session, account, SPEC)
        assert cancel(session, queued.id).state is TaskState.cancelled  # at once
        assert claim(session, "w1", POLICY).id == running.id  # the cancelled one is skipped
        assert cancel(session, running.id).state is TaskState.running  # asked to stop
        assert (
            report(session, running.id, worker="w1", progress=0.5, stage="denoising", policy=POLICY)
            is False
        )
        finish(session, running.id, worker="w1", state=TaskState.cancelled)
        with pytest.raises(IllegalTransition, match="is cancelled"):
            cancel(session, running.id)
        with pytest.raises(IllegalTransition, match="final state"):
            finish(session, running.id, worker="w1", state=TaskState.running)


def test_a_task_keeps_only_its_latest_preview_and_only_from_its_lease_holder(sessions, account):
    def previews(task_id):
        with sessions() as session:
            rows = session.scalars(
                select(TaskEvent).where(TaskEvent.task_id == task_id).order_by(TaskEvent.id)
            )
            return [e.preview for e in rows if e.preview is not None]

    with sessions() as session:
        task_id = submit(session, account, SPEC).id
        claim(session, "w1", POLICY)
        add_preview(session, task_id, worker="w1", jpeg=b"first")
        add_preview(session, task_id, worker="w1", jpeg=b"second")
        add_preview(session, task_id, worker="w2", jpeg=b"not its lease")
        assert previews(task_id) == [b"second"]
        finish(session, task_id, worker="w1", state=TaskState.succeeded)
        add_preview(session, task_id, worker="w1", jpeg=b"too late")
    assert previews(task_id) == [b"second"]
    assert _states(sessions, task_id)[-1] == "succeeded"  # nothing after the final state


def test_a_retried_submit_with_the_same_idempotency_key_is_the_same_task(sessions, account):
    with sessions() as session:
        first = submit(session, account, SPEC, idempotency_key="abc")
        again = submit(session, account, {**SPEC, "prompt": "other"}, idempotency_key="abc")
        other = submit(session, account, SPEC, idempotency_key="xyz")
        count = len(session.scalars(select(Task)).all())
    assert again.id == first.id and other.id != first.id and count == 2


def test_a_retried_task_keeps_its_highest_progress_until_the_new_attempt_passes_it(
    sessions, account
):
    with sessions() as session:
        task_id = submit(session, account, SPEC).id
        claim(session, "first", POLICY)
        report(session, task_id, worker="first", progress=0.6, stage="denoise", policy=POLICY)
        (requeued,) = requeue_expired(session, POLICY, now=utcnow() + timedelta(minutes=5))
        assert requeued.state is TaskState.queued and requeued.progress == 0.6
        claim(session, "second", POLICY)
        seen = []
        for progress, stage in [(0.02, "load"), (0.3, "denoise"), (0.6, "denoise"),
                                (0.7, "denoise"), (0.9, "encode")]:  # fmt: skip
            report(session, task_id, worker="second", progress=progress, stage=stage, policy=POLICY)
            task = session.get(Task, task_id, populate_existing=True)
            seen.append((task.progress, task.stage))
    # The stage says what the new attempt does; the bar waits for it at 0.6, then moves on.
    assert seen == [(0.6, "load"), (0.6, "denoise"), (0.6, "denoise"), (0.7, "denoise"),
                    (0.9, "encode")]  # fmt: skip
    with sessions() as session:
        events = session.scalars(select(TaskEvent).where(TaskEvent.task_id == task_id))
        progress = [e.progress for e in events]
    assert progress == sorted(progress)  # the event stream never goes back either


def test_a_task_that_ends_interrupted_expires_like_any_finished_one(sessions, account):
    with sessions() as session:
        task_id = submit(session, account, SPEC).id
        for _ in range(POLICY.max_attempts):
            claim(session, "doomed", POLICY)
            later = utcnow() + timedelta(minutes=5)
            requeue_expired(session, POLICY, now=later, keep_for=timedelta(hours=2))
        failed = session.get(Task, task_id, populate_existing=True)
    assert failed.error_code == INTERRUPTED
    assert failed.expires_at - failed.finished_at == timedelta(hours=2)


def test_every_move_the_queue_makes_is_one_its_table_allows(sessions, account):
    with sessions() as session:
        retried, cancelled, done = (submit(session, account, SPEC).id for _ in range(3))
        claim(session, "w1", POLICY)  # retried: its worker dies, it is queued again
        requeue_expired(session, POLICY, now=utcnow() + timedelta(minutes=5))
        cancel(session, cancelled)  # queued -> cancelled
        for worker in ("w2", "w3"):
            claim(session, worker, POLICY)
        finish(session, retried, worker="w2", state=TaskState.succeeded)
        finish(session, done, worker="w3", state=TaskState.failed)
    lives = {task_id: _states(sessions, task_id) for task_id in (retried, cancelled, done)}
    assert lives[retried] == ["queued", "running", "queued", "running", "succeeded"]
    for states in lives.values():
        moves = [(a, b) for a, b in itertools.pairwise(states) if a != b]
        assert all(TaskState(a).can_move_to(TaskState(b)) for a, b in moves), states
    ends = [lives[t][-1] for t in (retried, cancelled, done)]
    assert ends == ["succeeded", "cancelled", "failed"]


def test_the_queue_refuses_a_move_its_table_does_not_allow(sessions, account):
    with sessions() as session:
        task = submit(session, account, SPEC)
        claim(session, "w1", POLICY)
        finish(session, task.id, worker="w1", state=TaskState.succeeded)
        with pytest.raises(IllegalTransition, match="from succeeded to running"):
            moves.moved(session, task.id, [TaskState.succeeded], {"state": TaskState.running})
        with pytest.raises(IllegalTransition, match="from queued to succeeded"):
            moves.moved(session, task.id, [TaskState.queued], {"state": TaskState.succeeded})
        session.rollback()
        assert session.get(Task, task.id, populate_existing=True).state is TaskState.succeeded
