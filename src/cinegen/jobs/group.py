"""A GPU group as one worker: ``cinegen worker --gpus 0,1,2,3``.

One process per GPU under ``torch.distributed``, started as ``torchrun`` starts them. Rank 0,
the *leader*, claims tasks and reports them like any worker. A task whose model can split one
video over GPUs (``engine/backends/diffusers/parallel.py``) renders on every rank, the
transformer splitting each video's tokens over them; any other task (the leader claims tasks
of every model) renders on the leader alone, the other ranks told to skip it, since each
would only render the same video again. The ranks hear the leader through its broadcasts,
each a tuple whose first word says what it is:

    ("task", id, spec, account)   every rank renders it
    ("go", bool)                  the leader's answer to "go on?" at each step, so that a
                                  cancel stops every rank at the same step
    ("skip", id)                  the leader renders this one alone; wait for its "done"
    ("busy",)                     still rendering alone (at most once a minute): a rank
                                  waiting longer than ``EXCHANGE_TIMEOUT`` would end itself
    ("done",)                     the task has ended on the leader; each rank answers with
                                  a receipt of what it did, which the leader logs
    ("idle",)                     nothing is queued; listen again
    ("stop",)                     the group ends (SIGTERM or Ctrl-C to the leader)

A rank that hears a word out of turn (the leader ended a render early) drops its render and
takes the word as the next. The ``Group`` launcher watches the ranks: one that dies ends the
group's attempt, the others are killed, the leader's task goes back to the queue when its
lease runs out (``jobs.queue.requeue_expired``), and the group starts again, up to
``restarts`` times.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import signal
import socket
import threading
import time
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

import torch
import torch.distributed as dist
from sqlalchemy.orm import Session, sessionmaker

from cinegen.config import Settings
from cinegen.engine.engine import Engine
from cinegen.jobs.media import StoreMedia
from cinegen.jobs.worker import Worker
from cinegen.spec import new_seed, parse_spec
from cinegen.store.models import Task

log = logging.getLogger(__name__)

RESTART_PAUSE_S = 2.0
WATCH_EVERY_S = 0.1
# A rank waits this long for the others in any one exchange: longer than any model load.
EXCHANGE_TIMEOUT = timedelta(minutes=30)
# Trap: a rank that waits out EXCHANGE_TIMEOUT ends itself (NCCL's watchdog), and a render
# on the leader alone can take longer; so the leader says "busy" at a step this often.
BUSY_EVERY_S = 60.0


class Channel:
    """The leader's broadcasts, heard by every rank."""

    def send(self, message: tuple[Any, ...]) -> None:
        dist.broadcast_object_list([message], src=0)

    def hear(self) -> tuple[Any, ...]:
        box: list[Any] = [None]
        dist.broadcast_object_list(box, src=0)
        return tuple(box[0])


@dataclass
class Leader(Worker):
    """Rank 0: a worker that tells the other ranks what it renders and when it stops."""

    channel: Channel = field(default_factory=Channel)
    _shared: bool = field(default=False, init=False)  # the task now renders on every rank
    _said_at: float = field(default=0.0, init=False)  # when the other ranks last heard it

    def run(self, stop: threading.Event | None = None, idle_s: float = 0.5) -> None:
        try:
            super().run(stop, idle_s)
        finally:
            self.channel.send(("stop",))

    def run_once(self) -> bool:
        found = super().run_once()
        if not found:
            self.channel.send(("idle",))
        return found

    def execute(self, task: Task) -> None:
        self._shared = _splits(self.engine, task.spec)
        if self._shared:
            if task.spec.get("seed") is None:  # every rank must draw the same noise
                task.spec = {**task.spec, "seed": new_seed()}
            self.channel.send(("task", task.id, task.spec, task.account_id))
        else:
            self.channel.send(("skip", task.id))
            self._said_at = time.monotonic()
        try:
            super().execute(task)
        finally:
            self.channel.send(("done",))
            receipts: list[Any] = [None] * dist.get_world_size()
            dist.gather_object(None, receipts, dst=0)
            log.info("%s: %s", task.id, "; ".join(str(r) for r in receipts[1:]))

    def agree_to_stop(self, stop: bool) -> bool:
        if self._shared:
            self.channel.send(("go", not stop))
        elif time.monotonic() - self._said_at >= BUSY_EVERY_S:
            self.channel.send(("busy",))
            self._said_at = time.monotonic()
        return stop


def _splits(engine: Engine, spec_data: dict[str, Any]) -> bool:
    """Whether the task's model renders one video over the group's GPUs; False for a spec
    that does not plan (the leader meets the same failure alone and reports it)."""
    from cinegen.engine.backends.diffusers.parallel import splits

    try:
        return splits(engine.plan(parse_spec(spec_data)).model.id)
    except Exception:
        return False


class _OutOfTurn(BaseException):
    """The leader moved on (a ``done`` or a new word where a ``go`` was due). A
    BaseException: no ``except Exception`` in the engine may swallow it."""

    def __init__(self, message: tuple[Any, ...]) -> None:
        super().__init__(message[0])
        self.message = message


@dataclass
class Follower:
    """Ranks 1..n-1: render the leader's tasks that split, skip the others, store nothing."""

    channel: Channel
    engine: Engine
    sessions: sessionmaker[Session]
    data_dir: Path

    steps: int = 0  # the leader's words heard during this task's render
    outcome: str = "heard nothing"

    def follow(self) -> None:
        message = self.channel.hear()
        while message[0] != "stop":
            if message[0] == "task":
                message = self._render(message)
                continue
            if message[0] == "skip":  # then only "busy" words until its "done"
                self.steps, self.outcome = 0, "skipped it"
            if message[0] == "done":  # tell the leader what this rank did
                receipt = f"rank {dist.get_rank()} {self.outcome} ({self.steps} steps)"
                dist.gather_object(receipt, None, dst=0)
            message = self.channel.hear()

    def _render(self, message: tuple[Any, ...]) -> tuple[Any, ...]:
        """Render the leader's task; the next word heard."""
        _, task_id, spec_data, account_id = message
        self.steps, self.outcome = 0, "rendered it"
        try:
            spec = parse_spec(spec_data)
            media = StoreMedia(self.sessions, self.data_dir, account_id)
            self.engine.run(self.engine.plan(spec), None, self._go_on, media, None)
        except _OutOfTurn as turn:
            self.outcome = f"stopped when the leader said {turn.message[0]}"
            return turn.message
        except Exception as failure:  # the leader meets the same failure and reports it
            self.outcome = f"failed ({failure!r})"
            log.warning("rank %d: task %s failed here", dist.get_rank(), task_id, exc_info=True)
        return self.channel.hear()

    def _go_on(self) -> bool:
        """``should_stop`` for the engine: the leader's word for this step."""
        message = self.channel.hear()
        if message[0] != "go":
            raise _OutOfTurn(message)
        self.steps += 1
        return not message[1]


def _rank(rank: int, world: int, port: int, settings: Settings, devices: list[str]) -> None:
    """One rank's process: join the group, then lead or follow until the leader stops."""
    gpus = devices[0] != "cpu"
    if gpus:  # before CUDA starts in this process
        os.environ["CUDA_VISIBLE_DEVICES"] = ",".join(devices)
    said = logging.StreamHandler()  # what the group did, per task, on the terminal
    said.setFormatter(logging.Formatter(f"cinegen group · rank {rank} · %(message)s"))
    logging.getLogger("cinegen").addHandler(said)
    logging.getLogger("cinegen").setLevel(logging.INFO)
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        # Only the leader stops the group; a follower that left mid-step would hang the rest.
        signal.signal(sig, (lambda *_: stop.set()) if rank == 0 else signal.SIG_IGN)
    dist.init_process_group(
        "nccl" if gpus else "gloo",
        init_method=f"tcp://127.0.0.1:{port}",
        rank=rank,
        world_size=world,
        timeout=EXCHANGE_TIMEOUT,
    )
    if gpus:
        torch.cuda.set_device(rank)
    from cinegen.store.db import open_database

    sessions = open_database(settings.data_dir, settings.database_url)
    engine = Engine(settings)
    try:
        if rank == 0:
            leader = Leader.configured(settings, sessions, engine)
            leader.name = f"group{world}:{leader.name}"
            leader.run(stop)
        else:
            Follower(Channel(), engine, sessions, settings.data_dir).follow()
    finally:
        dist.destroy_process_group()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Group:
    """Starts and watches one process per device; ``devices`` are GPU ids ("0", "1", …), or
    "cpu" for each rank of a CPU group (gloo: the tests' group, where a task that splits
    renders the whole video on every rank)."""

    settings: Settings
    devices: list[str]
    restarts: int = 3
    processes: list[Any] = field(default_factory=list)
    attempts: int = 0

    def run(self, stop: threading.Event) -> int:
        """Run the group until ``stop``; its exit code (0: stopped cleanly)."""
        while True:
            self.attempts += 1
            code = self._attempt(stop)
            if code == 0 or stop.is_set():
                return code
            if self.attempts > self.restarts:
                log.error("the group failed %d times; giving up", self.attempts)
                return code
            log.warning("starting the group again (%d of %d)", self.attempts, self.restarts)
            stop.wait(RESTART_PAUSE_S)

    def _attempt(self, stop: threading.Event) -> int:
        spawn = multiprocessing.get_context("spawn")
        port, world = _free_port(), len(self.devices)
        self.processes = [
            spawn.Process(target=_rank, args=(r, world, port, self.settings, self.devices))
            for r in range(world)
        ]
        for process in self.processes:
            process.start()
        stopping = False
        while True:
            if stop.is_set() and not stopping:  # the leader finishes its task, then stops all
                os.kill(self.processes[0].pid, signal.SIGTERM)
                stopping = True
            codes = [p.exitcode for p in self.processes]
            if all(c == 0 for c in codes):
                return 0
            ended = [(r, c) for r, c in enumerate(codes) if c not in (None, 0)]
            if ended or (not stopping and 0 in codes):
                rank, code = ended[0] if ended else (codes.index(0), 0)
                log.warning("rank %d ended (exit code %s): ending the group's attempt", rank, code)
                self._kill()
                return 1
            time.sleep(WATCH_EVERY_S)

    def _kill(self) -> None:
        for process in self.processes:
            if process.exitcode is None:
                process.kill()
        for process in self.processes:
            process.join()
