"""The worker: a queued task becomes files and a final state, whatever happens on the way."""

from __future__ import annotations

import time
from datetime import timedelta

import pytest
from sqlalchemy import select

from cinegen.engine.engine import Engine
from cinegen.jobs.assets import ASSETS, task_folder
from cinegen.jobs.queue import QueuePolicy, cancel, claim, requeue_expired, submit
from cinegen.jobs.reporting import Link, TaskProgress
from cinegen.jobs.worker import Worker
from cinegen.media.encode import probe
from cinegen.progress import Stage
from cinegen.store.keys import create_key
from cinegen.store.models import Task, TaskEvent, TaskState, utcnow

pytestmark = pytest.mark.slow  # renders

SPEC = {
    "prompt": "a blue star moving right over a night sky",
    "width": 160,
    "height": 90,
    "n_frames": 30,
    "fps": 15,
    "seed": 5,
    "model": "wan-tiny-random",
}


@pytest.fixture
def setup(sessions, engine, tmp_path):
    with sessions() as session:
        account = create_key(session, "tester").key.account_id
    worker = Worker(sessions, tmp_path / "data", engine, QueuePolicy(lease_seconds=30))
    return sessions, account, worker


def _task(sessions, task_id) -> Task:
    with sessions() as session:
        task = session.get(Task, task_id)
        task.generations  # noqa: B018 - loaded while the session is open
        return task


def test_a_task_becomes_videos_with_rising_progress(setup, tmp_path):
    sessions, account, worker = setup
    with sessions() as session:
        task_id = submit(session, account, {**SPEC, "n_variants": 2}).id
    assert worker.run_once() and not worker.run_once()  # one task, then an empty queue
    task = _task(sessions, task_id)
    assert task.state is TaskState.succeeded and task.progress == 1.0 and task.error_code is None
    assert [g.index for g in task.generations] == [0, 1]
    for generation in task.generations:
        video = tmp_path / "data" / generation.files["video"]
        assert generation.files["video"].startswith(f"{ASSETS}/{task_id}/")
        info = probe(video)
        assert (info.width, info.height, info.n_frames) == (160, 90, 30)
        assert (tmp_path / "data" / generation.files["thumbnail"]).is_file()
    with sessions() as session:
        events = session.scalars(select(TaskEvent).where(TaskEvent.task_id == task_id)).all()
    progress = [e.progress for e in events]
    assert progress == sorted(progress) and len(progress) >= 4
    assert {"denoise", "encode"} <= {e.stage for e in events}


def test_a_cancelled_task_stops_at_the_next_step_and_leaves_no_files(setup, tmp_path):
    sessions, account, worker = setup
    with sessions() as session:
        task_id = submit(session, account, SPEC).id
        task = claim(session, worker.name, worker.policy)
        cancel(session, task_id)  # while it runs: the first report answers "stop"
    worker.execute(task)
    assert _task(sessions, task_id).state is TaskState.cancelled
    assert not (tmp_path / "data" / ASSETS / task_id).exists()


def test_a_request_the_model_cannot_serve_fails_with_the_reason(setup):
    sessions, account, worker = setup
    with sessions() as session:
        task_id = submit(session, account, {**SPEC, "n_frames": 30, "fps": 15, "width": 7}).id
    worker.run_once()
    task = _task(sessions, task_id)
    assert task.state is TaskState.failed and task.error_code == "invalid_request"
    assert "width" in task.error_message


def test_a_dead_workers_task_is_done_by_the_next(setup):
    sessions, account, worker = setup
    with sessions() as session:
        task_id = submit(session, account, SPEC).id
        claim(session, "dead-worker", QueuePolicy(lease_seconds=0.05))
    time.sleep(0.1)
    assert worker.run_once()  # takes it back, then does it
    task = _task(sessions, task_id)
    assert task.state is TaskState.succeeded and task.attempts == 2


def test_the_heartbeat_keeps_a_slow_task_from_being_taken_back(setup):
    sessions, account, _ = setup
    policy = QueuePolicy(lease_seconds=0.3)
    with sessions() as session:
        task_id = submit(session, account, SPEC).id
        claim(session, "slow", policy)
    link = Link(sessions, task_id, "slow", policy, TaskProgress(n_variants=1))
    with link.heartbeat():
        time.sleep(1.0)  # more than three leases without a single progress report
        with sessions() as session:
            assert requeue_expired(session, policy) == []
    with sessions() as session:
        later = utcnow() + timedelta(seconds=1)
        assert [t.id for t in requeue_expired(session, policy, now=later)] == [task_id]


def test_progress_maps_every_stage_onto_one_rising_fraction():
    progress = TaskProgress(n_variants=2)
    seen = []
    one_variant = [(Stage.resample, 1, 2), (Stage.encode_video, 30, 30)]
    rendered = [(Stage.load, 1, 1), (Stage.denoise, 5, 10), (Stage.denoise, 10, 10)]
    written = [*one_variant, (Stage.files, 1, 2), *one_variant, (Stage.files, 2, 2)]
    for event in [*rendered, *written]:
        progress.update(*event)
        seen.append(progress.fraction)
    assert seen == sorted(seen) and seen[-1] == 1.0
    assert seen[1] == pytest.approx(0.45) and 0.85 < seen[5] < 1.0


def test_a_worker_that_lost_its_task_removes_its_own_run_not_its_successor_s(setup, engine):
    """Its lease ran out while it rendered and another worker took the task over: when it
    finds out, at the end, it removes what it wrote and leaves the new attempt's files."""
    sessions, account, worker = setup
    with sessions() as session:
        task_id = submit(session, account, SPEC).id
        task = claim(session, worker.name, worker.policy)
    folder = task_folder(worker.data_dir, task_id)
    successor_s = folder / "20260101-120000-the-successor-s-run" / "master-1.mp4"

    class Overtaken(Engine):  # a real engine; the task is taken over while it renders
        def run(self, *args, **kwargs):  # type: ignore[no-untyped-def]
            rendered = super().run(*args, **kwargs)
            with sessions() as session:
                later = utcnow() + timedelta(minutes=5)
                assert requeue_expired(session, worker.policy, now=later)
                assert claim(session, "successor", worker.policy).id == task_id
            successor_s.parent.mkdir(parents=True)
            successor_s.write_bytes(b"the successor is writing this")
            return rendered

    overtaken = Overtaken(engine.settings)
    overtaken._loaded = engine._loaded
    worker.engine = overtaken
    worker.execute(task)
    assert [p for p in folder.rglob("*") if p.is_file()] == [successor_s]
    task = _task(sessions, task_id)
    assert task.state is TaskState.running and task.lease_owner == "successor"
