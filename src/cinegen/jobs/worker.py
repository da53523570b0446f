"""The worker: claim a task, generate it, store the outcome; again, until told to stop.

One worker is one process with one ``Engine`` (models stay loaded between tasks). While a
task runs, a heartbeat thread renews its lease every third of the lease time, so a slow step
(loading a large model) does not lose the task, while a killed process stops renewing and
the task goes back to the queue. Progress is reported per denoising step and per stage
(``TaskProgress``, with the heartbeat in ``reporting.py``), and the answer to each report is
whether to go on: a cancelled task stops at its next step. The final state is decided in
exactly one place, ``_outcome``.

For the whole of its life a worker keeps a row (``presence.py``: its loaded models, the
device memory it can give a task, its beats) that claims route by. Told to stop (SIGTERM),
it drains: its task stops at the next step and goes back to the queue, the attempt not
counted against it, and the worker exits.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import threading
import time
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

from sqlalchemy.orm import Session, sessionmaker

from cinegen.config import Settings
from cinegen.engine.engine import Engine
from cinegen.engine.memory import free_bytes, held_bytes
from cinegen.errors import Cancelled, CinegenError, SpecError
from cinegen.generation import Result, generate
from cinegen.jobs.assets import (
    remove_files,
    sweep_expired,
    sweep_expired_uploads,
    sweep_leftovers,
    task_folder,
)
from cinegen.jobs.media import StoreMedia
from cinegen.jobs.presence import Beat, Presence
from cinegen.jobs.queue import (
    LeaseLost,
    QueuePolicy,
    claim,
    finish,
    release,
    requeue_expired,
)
from cinegen.jobs.reporting import Link, TaskProgress
from cinegen.jobs.routing import Profile, Routing
from cinegen.safety.moderation import ContentPolicyViolation
from cinegen.spec import parse_spec
from cinegen.store import audit
from cinegen.store.models import Generation, Task, TaskState, new_id

# Uploads expire by the week, and crash leftovers wait a lease anyway: a look a minute is plenty.
SWEEP_EVERY_S = 60.0


def worker_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{new_id('w')[-6:]}"


@dataclass
class Worker:
    sessions: sessionmaker[Session]
    data_dir: Path
    engine: Engine
    policy: QueuePolicy = field(default_factory=QueuePolicy)
    keep_for: timedelta | None = None  # finished tasks expire this long after they end
    keep_uploads_for: timedelta | None = None  # uploads nothing needs, this long after upload
    _next_sweep: float = field(default=0.0, init=False)
    name: str = field(default_factory=worker_name)
    device: str = "cpu"  # where it renders ("cuda", …): its free memory goes in its beats
    # The most device bytes it can give a task (None: unplanned, as on a CPU); at each claim
    # it offers what is free of them then (``_capacity_now``).
    capacity: int | None = None
    _stop: threading.Event = field(default_factory=threading.Event, init=False)
    _models: tuple[str, ...] = field(default=(), init=False)  # loaded, as of the last task
    _task_id: str | None = field(default=None, init=False)  # the task running now

    @classmethod
    def configured(
        cls, settings: Settings, sessions: sessionmaker[Session], engine: Engine
    ) -> Worker:
        """A worker with the lease, retry, expiry and routing policy of ``settings``, and
        the device memory free now (before it loads anything) as the most it can give a
        task."""
        device = _device(settings)
        return cls(
            sessions=sessions,
            data_dir=settings.data_dir,
            engine=engine,
            policy=QueuePolicy(
                settings.task_lease_seconds,
                settings.task_max_attempts,
                routing=Routing.configured(settings),
            ),
            keep_for=timedelta(hours=settings.asset_ttl_hours),
            keep_uploads_for=timedelta(hours=settings.upload_ttl_hours),
            device=device,
            capacity=free_bytes(device),
        )

    def run(self, stop: threading.Event | None = None, idle_s: float = 0.5) -> None:
        """Work until ``stop`` is set (forever without one); a task running then stops at
        its next step and goes back to the queue."""
        self._stop = stop = stop or threading.Event()
        with Presence(self.sessions, self.news, self.policy.routing.beat_s):
            while not stop.is_set():
                if not self.run_once():
                    stop.wait(idle_s)

    def profile(self) -> Profile:
        """What this worker offers a claim, its device measured now."""
        return self._profile(free_bytes(self.device))

    def _profile(self, free: int | None) -> Profile:
        return Profile(self.name, self._models, self._capacity_now(free), ceiling=self.capacity)

    def _capacity_now(self, free: int | None) -> int | None:
        """The device bytes a task could have now: what is free plus what this worker holds
        (the models a task may displace), at most ``capacity``. Another program filling
        the device shrinks it, so claims leave the tasks that would no longer fit to
        other workers, or until the room is back."""
        if free is None or self.capacity is None:
            return self.capacity
        return min(self.capacity, free + held_bytes(self.device))

    def news(self) -> Beat:
        """What this worker's next beat writes (the device measured once for both)."""
        free = free_bytes(self.device)
        return Beat(
            self._profile(free),
            device=self.device,
            free_bytes=free,
            task_id=self._task_id,
            draining=self._stop.is_set(),
        )

    def run_once(self) -> bool:
        """Take back dead workers' tasks, sweep, then do one task; False if none was queued."""
        with self.sessions() as session:
            for taken in requeue_expired(session, self.policy, keep_for=self.keep_for):
                if taken.state.terminal:  # its last attempt's partial files are nobody's now
                    remove_files(self.data_dir, taken.id)
            sweep_expired(session, self.data_dir)
            if time.monotonic() >= self._next_sweep:
                self._next_sweep = time.monotonic() + SWEEP_EVERY_S
                grace = timedelta(seconds=self.policy.lease_seconds)
                sweep_leftovers(session, self.data_dir, grace)
                if self.keep_uploads_for is not None:
                    sweep_expired_uploads(session, self.data_dir, self.keep_uploads_for)
            task = claim(session, self.profile(), self.policy)
        if task is None:
            return False
        try:
            self._task_id = task.id
            self.execute(task)
        finally:
            self._task_id, self._models = None, self.engine.loaded
        return True

    def execute(self, task: Task) -> None:
        folder = task_folder(self.data_dir, task.id)
        shutil.rmtree(folder, ignore_errors=True)  # an earlier, interrupted attempt's files
        progress = TaskProgress(n_variants=int(task.spec.get("n_variants", 1)))
        link = Link(self.sessions, task.id, self.name, self.policy, progress, drain=self._stop)
        with link.heartbeat():
            try:
                spec = parse_spec(task.spec)
                media = StoreMedia(self.sessions, self.data_dir, task.account_id)
                result: Result | BaseException = generate(
                    spec,
                    out=folder,
                    engine=self.engine,
                    on_progress=link.on_progress,
                    should_stop=lambda: self.agree_to_stop(link.should_stop()),
                    on_preview=link.on_preview,
                    media=media,
                    parents=media.files(spec),
                    provenance={"task": task.id},
                    keep_master=True,  # later operations on it start from unmarked frames
                    inputs_moderated=True,  # its words and uploads, when it was created
                )
            except Exception as exc:  # every failure ends the task; none ends the worker
                result = exc
        if isinstance(result, Cancelled) and link.go_on:  # the drain stopped it, not a cancel
            self._hand_back(task, folder)
        else:
            self._outcome(task, result, folder)

    def _hand_back(self, task: Task, folder: Path) -> None:
        with self.sessions() as session:
            handed = release(session, task.id, worker=self.name, why="its worker is stopping")
        if handed:  # the next attempt starts over: this one's partial files are nobody's
            shutil.rmtree(folder, ignore_errors=True)
        else:  # cancelled meanwhile (or no longer ours): it ends as any stopped task does
            self._outcome(task, Cancelled(), folder)

    def agree_to_stop(self, stop: bool) -> bool:
        """Whether the render stops at this step: ``stop``, here. A GPU group's leader also
        tells its other ranks (``jobs/group.py``), so that all stop at the same step."""
        return stop

    def _outcome(self, task: Task, result: Result | BaseException, folder: Path) -> None:
        state, code, message, generations = TaskState.succeeded, None, None, []
        actions: list[str] = []
        if isinstance(result, Cancelled):
            state = TaskState.cancelled
        elif isinstance(result, SpecError):
            state, code, message = TaskState.failed, "invalid_request", str(result)
        elif isinstance(result, ContentPolicyViolation):  # the output was withheld
            state, code, message = TaskState.failed, "content_policy_violation", str(result)
            with self.sessions() as session:
                withheld = result.result
                detail = {"categories": withheld.reasons, "scores": withheld.category_scores}
                audit.record(
                    session, "policy", "policy.withhold_output", target=task.id, detail=detail
                )
                session.commit()
        elif isinstance(result, BaseException):
            state, code = TaskState.failed, "generation_failed"
            message = str(result) if isinstance(result, CinegenError) else repr(result)
        else:
            generations = _generations(task, result, self.data_dir)
            actions = result.metadata.get("actions", [])
        with self.sessions() as session:
            try:
                finish(
                    session,
                    task.id,
                    worker=self.name,
                    state=state,
                    generations=generations,
                    error_code=code,
                    error_message=message,
                    keep_for=self.keep_for,
                    actions=actions,
                )
            except LeaseLost:  # another worker has it now, writing beside this run's files
                if isinstance(result, Result):
                    _discard_run(result, folder)
                return
        if state is not TaskState.succeeded:  # final: no attempt writes in its folder again
            shutil.rmtree(folder, ignore_errors=True)


def _discard_run(result: Result, folder: Path) -> None:
    """Remove one run's files, and only those. Trap: not the whole task folder, which the
    attempt that took the task over is writing in (each run writes in a folder of its own
    within it, ``OutputLayout``)."""
    run, folder = result.sidecar.parent.resolve(), folder.resolve()
    if run != folder and run.is_relative_to(folder):
        shutil.rmtree(run, ignore_errors=True)
        with contextlib.suppress(OSError):  # the task's folder too, once nothing else is in it
            folder.rmdir()


def _generations(task: Task, result: Result, data_dir: Path) -> list[Generation]:
    spec = result.metadata["spec"]
    rows = []
    for variant in result.variants:
        files = {
            kind: str(path.relative_to(data_dir))
            for kind, path in (
                ("video", variant.video),
                ("image", variant.image),
                ("thumbnail", variant.thumbnail),
                ("spritesheet", variant.spritesheet),
                ("sidecar", result.sidecar),
                ("master", variant.master),  # never served: StoreMedia reads it
            )
            if path is not None
        }
        rows.append(
            Generation(
                id=new_id("gen"),
                task_id=task.id,
                index=variant.index,
                seed=variant.seed,
                width=spec["width"],
                height=spec["height"],
                n_frames=spec["n_frames"],
                files=files,
                has_audio=variant.audio is not None,
            )
        )
    return rows


def _device(settings: Settings) -> str:
    """The device this worker renders on, as the backends pick it."""
    if settings.device != "auto":
        return settings.device
    import torch

    return "cuda" if torch.cuda.is_available() else "cpu"


def run_worker(settings: Settings, stop: threading.Event | None = None) -> None:
    """One worker process's life: open the shared database, load models on demand, work."""
    from cinegen.store.db import open_database

    sessions = open_database(settings.data_dir, settings.database_url)
    Worker.configured(settings, sessions, Engine(settings)).run(stop)
