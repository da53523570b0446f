"""A task's files under the data directory, and their end: deleted on request or on expiry,
always together with the task's rows, so that no answer ever says "completed" for a video
whose file is gone. Uploads end too, once old and needed by nothing."""

from __future__ import annotations

import shutil
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from cinegen.jobs.queue import IllegalTransition, cancel
from cinegen.store.models import (
    Character,
    Generation,
    Share,
    Task,
    TaskEvent,
    TaskState,
    Upload,
    utcnow,
)
from cinegen.store.turns import take_turn

ASSETS = "assets"


def task_folder(data_dir: Path, task_id: str) -> Path:
    return data_dir / ASSETS / task_id


def remove_files(data_dir: Path, task_id: str) -> None:
    shutil.rmtree(task_folder(data_dir, task_id), ignore_errors=True)


def delete_task(session: Session, data_dir: Path, task_id: str) -> None:
    """Delete a task for good. A running one is asked to stop first: its worker stops at
    the next step, finds the task gone and discards what it wrote."""
    task = session.get(Task, task_id)
    if task is None:
        return
    if task.state in (TaskState.queued, TaskState.running):
        try:
            cancel(session, task_id)
        except IllegalTransition:
            session.rollback()  # it finished meanwhile; delete it all the same
    session.execute(delete(TaskEvent).where(TaskEvent.task_id == task_id))
    variants = select(Generation.id).where(Generation.task_id == task_id)
    session.execute(delete(Share).where(Share.generation_id.in_(variants)))
    session.execute(delete(Generation).where(Generation.task_id == task_id))
    session.execute(delete(Task).where(Task.id == task_id))
    session.commit()
    remove_files(data_dir, task_id)


def sweep_expired(session: Session, data_dir: Path, now: datetime | None = None) -> list[str]:
    """Delete every task whose assets have expired; returns their ids."""
    ids = list(session.scalars(select(Task.id).where(Task.expires_at <= (now or utcnow()))))
    for task_id in ids:
        delete_task(session, data_dir, task_id)
    return ids


def sweep_expired_uploads(
    session: Session, data_dir: Path, keep_for: timedelta, now: datetime | None = None
) -> list[str]:
    """Delete the uploads older than ``keep_for`` that nothing needs: no character is drawn
    from them and no unfinished task reads them (those wait for a later sweep), taking
    their owners' turns (store/turns.py) so that no create picks one meanwhile. Returns
    their ids; the rows go first, so no answer names an upload whose file is gone."""
    cutoff = (now or utcnow()) - keep_for
    owners = list(session.scalars(select(Upload.account_id).where(Upload.created_at <= cutoff)))
    if not owners:
        return []
    take_turn(session, owners)  # no create of theirs picks an upload while this decides
    old = list(session.scalars(select(Upload).where(Upload.created_at <= cutoff)))
    needed = set(
        session.scalars(select(Character.upload_id).where(Character.upload_id.is_not(None)))
    )
    unfinished = select(Task.spec).where(Task.state.in_((TaskState.queued, TaskState.running)))
    for spec in session.scalars(unfinished):
        needed |= set(_strings(spec))
    gone = [upload for upload in old if upload.id not in needed]
    for upload in gone:
        session.delete(upload)
    session.commit()
    for upload in gone:
        (data_dir / upload.path).unlink(missing_ok=True)
    return [upload.id for upload in gone]


def _strings(value: Any) -> list[str]:
    """Every string in a JSON value: a spec names its uploads in several places (sources,
    inpaint items, storyboard media, characters), all of them strings."""
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        value = list(value.values())
    if isinstance(value, list):
        return [s for item in value for s in _strings(item)]
    return []
