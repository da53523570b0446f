"""A GPU group as one worker, on the CPU: two ranks under torch.distributed (gloo) render
each task of a model that splits together, the leader storing it, and the leader alone
renders a task of a model that cannot; a rank that dies ends the group's attempt, the task
goes back to the queue and the group, started again, finishes it. (How a model splits a
video over GPUs, and the speed-up, are checked on a GPU machine: bench, never a test. On the
CPU a model that splits renders the whole video on each rank: only which ranks rendered
tells the two kinds of task apart here.)"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from sqlalchemy import select

from cinegen.config import Settings
from cinegen.jobs.group import Group
from cinegen.jobs.queue import submit
from cinegen.media.encode import probe
from cinegen.store.db import open_database
from cinegen.store.keys import create_key
from cinegen.store.models import Generation, Task, TaskEvent, TaskState

pytestmark = pytest.mark.slow  # processes that load torch and render

SPEC = {"prompt": "a red circle moving right over the ocean", "width": 64, "height": 64,
        "fps": 8.0, "n_frames": 16, "n_variants": 1, "seed": 1}  # fmt: skip
WAIT_S = 240.0  # two processes start torch and load the model on two shared cores


def settings_in(tmp_path, **more) -> Settings:
    return Settings(data_dir=tmp_path, default_model="cinegen-tiny", **more)


def tasks_in(sessions, models: list[str]) -> list[str]:
    """One task of each model, queued in this order."""
    with sessions() as session:
        account = create_key(session, "group").key.account_id
        return [
            submit(session, account, {**SPEC, "seed": i + 1, "model": model}).id
            for i, model in enumerate(models)
        ]


def wait_for(sessions, ids: list[str], *states: TaskState) -> list[Task]:
    deadline = time.monotonic() + WAIT_S
    while time.monotonic() < deadline:
        with sessions() as session:
            tasks = [session.get(Task, i) for i in ids]
            if all(t.state in states for t in tasks):
                return tasks
        time.sleep(0.2)
    raise AssertionError(f"tasks {ids} did not reach {states} in {WAIT_S:g} s")


def started(group: Group) -> threading.Event:
    stop = threading.Event()
    thread = threading.Thread(target=lambda: setattr(group, "code", group.run(stop)))
    thread.start()
    stop.thread = thread  # type: ignore[attr-defined]
    return stop


def stopped(stop: threading.Event) -> None:
    stop.set()
    stop.thread.join(timeout=WAIT_S)  # type: ignore[attr-defined]
    assert not stop.thread.is_alive()  # type: ignore[attr-defined]


def test_a_task_that_splits_renders_on_every_rank_one_that_cannot_on_the_leader_alone(
    tmp_path, capfd
):
    settings = settings_in(tmp_path)
    sessions = open_database(tmp_path)
    models = ["cinegen-tiny", "wan-tiny-random", "cinegen-tiny"]  # cannot split, splits, cannot
    ids = tasks_in(sessions, models)
    group = Group(settings, ["cpu", "cpu"])
    stop = started(group)
    try:
        tasks = wait_for(sessions, ids, TaskState.succeeded, TaskState.failed)
    finally:
        stopped(stop)
    assert group.code == 0 and group.attempts == 1  # stopped cleanly: every rank exited 0
    assert all(t.state is TaskState.succeeded and t.attempts == 1 for t in tasks), tasks
    with sessions() as session:
        for task_id in ids:  # the leader stored each, whoever rendered it
            (made,) = session.scalars(select(Generation).where(Generation.task_id == task_id))
            info = probe(tmp_path / made.files["video"])
            assert (info.width, info.height, info.n_frames) == (64, 64, 16)
            claims = session.scalars(
                select(TaskEvent.message).where(
                    TaskEvent.task_id == task_id, TaskEvent.message.like("claimed by%")
                )
            ).all()
            assert len(claims) == 1 and claims[0].startswith("claimed by group2:")
    said = capfd.readouterr().err
    for task_id, model in zip(ids, models, strict=True):  # each rank's receipt, per task
        if model == "wan-tiny-random":  # the other rank heard every step and rendered it too
            assert f"rank 0 · {task_id}: rank 1 rendered it (" in said, said[-2000:]
        else:  # only the leader rendered it; the other rank heard no step
            assert f"rank 0 · {task_id}: rank 1 skipped it (0 steps)" in said, said[-2000:]


def test_a_rank_that_dies_ends_the_attempt_and_the_group_finishes_the_task(tmp_path):
    settings = settings_in(tmp_path, task_lease_seconds=3.0)
    sessions = open_database(tmp_path)
    (task_id,) = tasks_in(sessions, ["cinegen-tiny"])
    group = Group(settings, ["cpu", "cpu"], restarts=2)
    stop = started(group)
    try:
        wait_for(sessions, [task_id], TaskState.running)
        os.kill(group.processes[1].pid, signal.SIGKILL)  # the follower, as the leader renders alone
        (task,) = wait_for(sessions, [task_id], TaskState.succeeded, TaskState.failed)
    finally:
        stopped(stop)
    assert task.state is TaskState.succeeded and task.attempts == 2
    assert group.attempts == 2 and group.code == 0
    with sessions() as session:
        messages = session.scalars(
            select(TaskEvent.message).where(TaskEvent.task_id == task_id)
        ).all()
    assert "its worker stopped; queued again" in messages


def test_the_group_bench_runs_on_the_cpu_and_finds_the_same_frames() -> None:
    """bench/group.py (for lent GPUs) on the CPU, so that it does not rot: gloo splits
    nothing, so the group's frames equal one process's exactly."""
    script = Path(__file__).parents[2] / "bench" / "group.py"
    done = subprocess.run(
        [sys.executable, str(script), "--tiny", "--device", "cpu", "--model", "wan",
         "--steps", "3", "--size", "32x32", "--frames", "5"],
        capture_output=True, text=True, timeout=WAIT_S, env={**os.environ, "OMP_NUM_THREADS": "1"},
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert (result["model"], result["grid"], result["gpus"]) == ("wan-tiny-random", "32x32x5", 2)
    assert result["split"] is None and result["frames_max_abs_diff"] == 0.0
    assert result["one_gpu_step_s"] > 0 and result["group_step_s"] > 0
