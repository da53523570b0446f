"""Expiry and deletion remove a task's files and rows together."""

from __future__ import annotations

import os
import secrets
import time
from datetime import timedelta
from pathlib import Path

from sqlalchemy import select

from cinegen.jobs.assets import (
    delete_task,
    sweep_expired,
    sweep_expired_uploads,
    sweep_leftovers,
    task_folder,
)
from cinegen.jobs.queue import QueuePolicy, cancel, claim, finish, submit
from cinegen.store.keys import create_key
from cinegen.store.models import (
    Character,
    Generation,
    Task,
    TaskEvent,
    TaskState,
    Upload,
    new_id,
    utcnow,
)


def _finished_task(sessions, data_dir, keep_for):
    with sessions() as session:
        account = create_key(session, "a").key.account_id
        task = submit(session, account, {"prompt": "a red star"})
        claim(session, "w", QueuePolicy())
        folder = task_folder(data_dir, task.id)
        folder.mkdir(parents=True)
        (folder / "video-1.mp4").write_bytes(b"mp4")
        generation = Generation(
            id=new_id("gen"), task_id=task.id, index=0, seed=1, width=64, height=64,
            n_frames=16, files={"video": f"assets/{task.id}/video-1.mp4"},
        )  # fmt: skip
        finish(
            session,
            task.id,
            worker="w",
            state=TaskState.succeeded,
            generations=[generation],
            keep_for=keep_for,
        )
        return task.id


def test_expired_tasks_go_with_their_files(sessions, tmp_path):
    data_dir = tmp_path / "data"
    old = _finished_task(sessions, data_dir, timedelta(hours=1))
    with sessions() as session:
        task = session.get(Task, old)
        assert task.expires_at - task.finished_at == timedelta(hours=1)
        assert sweep_expired(session, data_dir) == []  # not yet
        assert sweep_expired(session, data_dir, now=utcnow() + timedelta(hours=2)) == [old]
        assert session.get(Task, old) is None
        assert session.scalars(select(TaskEvent).where(TaskEvent.task_id == old)).all() == []
    assert not task_folder(data_dir, old).exists()


def test_deleting_a_task_removes_rows_and_files(sessions, tmp_path):
    data_dir = tmp_path / "data"
    task_id = _finished_task(sessions, data_dir, None)
    with sessions() as session:
        delete_task(session, data_dir, task_id)
        assert session.get(Task, task_id) is None
        assert session.scalars(select(Generation)).all() == []
    assert not task_folder(data_dir, task_id).exists()


def _upload(session, data_dir, account_id: str, age: timedelta) -> Upload:
    upload = Upload(id=new_id("upload"), account_id=account_id, path="", media_type="image/png",
                    created_at=utcnow() - age)  # fmt: skip
    upload.path = f"uploads/{upload.id}.png"
    (data_dir / "uploads").mkdir(parents=True, exist_ok=True)
    (data_dir / upload.path).write_bytes(b"png")
    session.add(upload)
    session.commit()
    return upload


def test_old_uploads_go_unless_a_character_or_an_unfinished_task_needs_them(sessions, tmp_path):
    data_dir = tmp_path / "data"
    week = timedelta(days=7)
    with sessions() as session:
        account = create_key(session, "a").key.account_id
        fresh, stale = (_upload(session, data_dir, account, age) for age in (timedelta(0), week))
        drawn, read = (_upload(session, data_dir, account, week) for _ in range(2))
        session.add(Character(id=new_id("char"), account_id=account, name="ada",
                              description="a woman in a red coat", upload_id=drawn.id))  # fmt: skip
        session.commit()
        task = submit(
            session, account, {"prompt": "a red star", "source": {"upload_ids": [read.id]}}
        )
        assert sweep_expired_uploads(session, data_dir, timedelta(days=1)) == [stale.id]
        assert session.get(Upload, stale.id) is None
        assert not (data_dir / stale.path).exists()
        kept = [fresh, drawn, read]
        assert all(session.get(Upload, u.id) and (data_dir / u.path).exists() for u in kept)

        claim(session, "w", QueuePolicy())
        finish(
            session, task.id, worker="w", state=TaskState.succeeded, generations=[], keep_for=None
        )
        assert sweep_expired_uploads(session, data_dir, timedelta(days=1)) == [read.id]
        assert sweep_expired_uploads(session, data_dir, timedelta(days=1)) == []


LEASE = timedelta(seconds=60)


def _write(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"partial")
    return path


def _age(folder: Path, age: timedelta) -> None:
    """Everything under ``folder`` last changed ``age`` ago, as if written then."""
    stamp = time.time() - age.total_seconds()
    for path in [folder, *folder.rglob("*")]:
        os.utime(path, (stamp, stamp))


def _temp(final: Path) -> Path:
    """A partial write as media/atomic.py names it, the writer killed before its rename."""
    return final.with_name(f".{final.name}.tmp-{secrets.token_hex(8)}{final.suffix}")


def test_the_sweep_removes_what_crashes_left_and_nothing_a_lease_holds(sessions, tmp_path):
    data_dir = tmp_path / "data"
    old = LEASE * 2
    succeeded = _finished_task(sessions, data_dir, None)  # its files: video-1.mp4
    with sessions() as session:
        account = create_key(session, "b").key.account_id
        ids = []
        for _ in range(3):
            ids.append(submit(session, account, {"prompt": "a red star"}).id)
            assert claim(session, f"w-{ids[-1]}", QueuePolicy()).id == ids[-1]
        running, failed, cancelled = ids
        queued = submit(session, account, {"prompt": "a red star"}).id
        finish(
            session,
            failed,
            worker=f"w-{failed}",
            state=TaskState.failed,
            error_code="generation_failed",
        )
        cancel(session, cancelled)
        finish(session, cancelled, worker=f"w-{cancelled}", state=TaskState.cancelled)
    orphan = new_id("task")  # a task deleted, its worker killed before it removed the folder

    run = "20260101-120000-a-red-star"
    for task_id in (running, queued, failed, cancelled, orphan):
        folder = task_folder(data_dir, task_id)
        _write(folder / run / "master-1.mp4")
        _write(_temp(folder / run / "video-1.mp4"))
    kept = task_folder(data_dir, succeeded) / "video-1.mp4"
    stale = _write(task_folder(data_dir, succeeded) / run / "thumbnail-1.webp")
    temp = _write(_temp(kept))
    _age(data_dir / "assets", old)  # unchanged for longer than a lease: nobody is writing it
    fresh = _write(_temp(task_folder(data_dir, succeeded) / "thumbnail-1.webp"))

    with sessions() as session:
        removed = sweep_leftovers(session, data_dir, LEASE)
    gone = [task_folder(data_dir, i) for i in (failed, cancelled, orphan)] + [stale.parent, temp]
    assert sorted(removed) == sorted(gone)
    assert not any(p.exists() for p in removed)
    for task_id in (running, queued):  # under a lease, or about to be: never looked into
        assert (task_folder(data_dir, task_id) / run / "master-1.mp4").is_file()
    assert kept.read_bytes() == b"mp4" and fresh.is_file()  # written within a lease: not yet
    with sessions() as session:
        assert sweep_leftovers(session, data_dir, LEASE, now=utcnow() + LEASE) == [fresh]
    assert sorted(p.name for p in task_folder(data_dir, succeeded).iterdir()) == ["video-1.mp4"]
