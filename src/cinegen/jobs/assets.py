"""A task's files under the data directory, and their end: deleted on request or on expiry,
always together with the task's rows, so that no answer ever says "completed" for a video
whose file is gone; left by a crash, swept once nobody can be writing them. Uploads end
too, once old and needed by nothing."""

from __future__ import annotations

import os
import shutil
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from cinegen.jobs.moves import IllegalTransition
from cinegen.jobs.queue import cancel
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
IN_CHUNK = 500  # ids per IN (…) when looking up many folders' tasks at once


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


def sweep_leftovers(
    session: Session, data_dir: Path, grace: timedelta, now: datetime | None = None
) -> list[Path]:
    """Remove what crashes left under ``assets/``; returns what went. A worker killed while
    writing leaves a temp file, an unmarked master, a thumbnail…; a crash between a task's
    deletion and its files' leaves a folder without a row. So: the folder of a task that
    failed or was cancelled goes, and the folder of a task that has no row any more; in a
    succeeded task's folder, everything that is not one of its generations' files (an
    earlier attempt's run folder, ``atomic_path``'s hidden temp files).

    Trap: a queued or running task's folder is never looked into. A running one is under a
    lease whose holder may be writing this very moment; a queued one may be claimed while
    this looks, and its next attempt clears the folder as it starts (``Worker.execute``).
    Only paths that nothing has changed for ``grace`` (the lease time) go: a worker that lost
    its task and has not heard yet (within a third of a lease) may still be writing, and
    what it writes after this goes at a later sweep."""
    root = data_dir / ASSETS
    try:
        folders = {p.name: p for p in root.iterdir() if p.name.startswith("task_")}
    except FileNotFoundError:
        return []
    # A snapshot taken after the listing: a folder is made by the worker that claimed its
    # task, after the row was committed, so a row missing from it is really gone.
    session.commit()
    ids = sorted(name for name, folder in folders.items() if _is_folder(folder))
    states, kept = _tasks_of(session, data_dir, ids)
    cutoff = (now or utcnow()) - grace
    removed = []
    for task_id in ids:
        state = states.get(task_id)
        if state is TaskState.succeeded:
            leftovers = _not_kept(folders[task_id], kept.get(task_id, set()))
        elif state is None or state.terminal:
            leftovers = [folders[task_id]]
        else:
            continue
        for path in leftovers:
            changed = _last_change(path)
            if changed is not None and changed <= cutoff:
                _remove(path)
                removed.append(path)
    return removed


def _tasks_of(
    session: Session, data_dir: Path, ids: list[str]
) -> tuple[dict[str, TaskState], dict[str, set[Path]]]:
    """The state of each task in ``ids`` that still has a row, and its generations' files."""
    states: dict[str, TaskState] = {}
    kept: dict[str, set[Path]] = {}
    for start in range(0, len(ids), IN_CHUNK):
        chunk = ids[start : start + IN_CHUNK]
        found = select(Task.id, Task.state).where(Task.id.in_(chunk))
        states.update((task_id, state) for task_id, state in session.execute(found).tuples())
        files = select(Generation.task_id, Generation.files).where(Generation.task_id.in_(chunk))
        for task_id, paths in session.execute(files).tuples():
            kept.setdefault(task_id, set()).update(data_dir / path for path in paths.values())
    return states, kept


def _is_folder(path: Path) -> bool:
    return path.is_dir() and not path.is_symlink()


def _not_kept(folder: Path, keep: set[Path]) -> list[Path]:
    """What under ``folder`` is not in ``keep``: a folder holding none of it as a whole."""
    try:
        entries = sorted(folder.iterdir())
    except FileNotFoundError:  # deleted meanwhile (its task expired)
        return []
    found = []
    for entry in entries:
        if entry in keep:
            continue
        if _is_folder(entry) and any(entry in path.parents for path in keep):
            found += _not_kept(entry, keep)
        else:
            found.append(entry)
    return found


def _last_change(path: Path) -> datetime | None:
    """When anything in ``path`` last changed (a folder: it or anything inside); None when it
    went meanwhile."""
    try:
        stamps = [path.lstat().st_mtime]
        if _is_folder(path):
            for parent, names, files in os.walk(path):
                stamps += [os.lstat(os.path.join(parent, n)).st_mtime for n in names + files]
    except FileNotFoundError:
        return None
    return datetime.fromtimestamp(max(stamps), UTC)


def _remove(path: Path) -> None:
    if _is_folder(path):
        shutil.rmtree(path, ignore_errors=True)
    else:
        path.unlink(missing_ok=True)


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
