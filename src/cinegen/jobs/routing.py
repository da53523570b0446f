"""Which queued task a worker takes next: the claim's choice as data, pure (no SQL).

A claim reads the waiting tasks, the live workers and how much each account was served
lately, then:

1. **filters**: a task that needs more device memory than this worker can give waits for
   one that can; a task that no live worker could ever hold fails (``unservable``), with a
   message naming the model, its need and the most any worker has;
2. **leaves** to other workers a task whose model another live worker has loaded while
   that model has few waiting tasks (``LEAVE``): the worker that has it takes it next, with
   no load, and this one stays free for a model nobody has loaded;
3. **ranks** the rest by ``RANKING``, a list of rules read in order (the first that differs
   decides):

   - an account's *first* task (nothing served lately, nothing before it in its line) goes
     before any backlog: a flood delays another account's first task by at most one render
     per worker (the one under way, or one tied at turn 0);
   - a task that has waited ``max_wait_s`` goes next, whatever model it needs (the bound);
   - then a task for a model this worker has loaded (a 14 B model takes tens of seconds to
     load);
   - then accounts take turns: an account's k-th task in its own line (0 = its next) stands
     at turn ``(served + k) / weight``, ``served`` its tasks running or started or finished
     within ``share_window_s``, ``weight`` by role (``QueueSettings``);
   - then the oldest.

   Trap: the loaded model ranks before turns on purpose. With turns first a worker switched
   models to serve whichever account was due, and loads fell only to 0.83 of oldest-first's
   (``bench/routing.py``); the first-task rule keeps the fairness bound turns were for, and
   the wait bound keeps a backlog of a loaded model from holding other models' tasks for
   more than ``max_wait_s``. Trap: the share window is also how far an account that was
   idle can catch up on one that was busy; keep it near a few renders.

``POLICIES`` names the rule sets a ``Routing`` can apply: ``routed`` (the above) and
``oldest_first`` (the plain queue before routing, the baseline ``bench/routing.py`` measures).

Needs are what ``engine/memory.py`` computes from published footprints: the least a
model's render holds on the device under the tiers this deployment allows, over the
``HEADROOM`` the tier choice keeps back. A model with no known footprint needs nothing
here (it fails or fits at render time, as before routing).
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from functools import lru_cache
from typing import Any

from cinegen.config import QueueSettings, Settings, get_settings

GiB = 1024**3


@dataclass(frozen=True)
class Demand:
    """What one task asks of a worker: its model (None: not a model this deployment knows;
    the worker fails it with the reason) and device bytes (0: no planned need)."""

    model: str | None
    need: int = 0


@dataclass(frozen=True)
class Profile:
    """What one worker offers: the models it has loaded and the device bytes it can give a
    task (None: unplanned, as on a CPU, where every task fits)."""

    name: str
    models: tuple[str, ...] = ()
    capacity: int | None = None  # now
    ceiling: int | None = None  # the most it could ever give; None: ``capacity``

    def fits(self, demand: Demand) -> bool:
        return self.capacity is None or demand.need <= self.capacity

    @property
    def most(self) -> int | None:
        """What it could give once its device is its own again: whether a task that does
        not fit now ever could."""
        return self.capacity if self.ceiling is None else self.ceiling


@dataclass(frozen=True)
class Waiting:
    """One queued task, as the ranking reads it."""

    id: str
    account_id: str
    role: str
    created_at: datetime
    demand: Demand


class Sizer:
    """Task spec -> ``Demand`` under one deployment's settings (default model, aliases,
    allowed memory tiers, quantization). Cached per (model, preset): specs repeat."""

    def __init__(self, settings: Settings | None = None) -> None:
        self._settings = settings
        self._demand = lru_cache(maxsize=256)(self._compute)

    @property
    def settings(self) -> Settings:
        if self._settings is None:
            self._settings = get_settings()
        return self._settings

    def demand(self, spec: Mapping[str, Any]) -> Demand:
        return self._demand(spec.get("model"), spec.get("preset"))

    def _compute(self, model: str | None, preset: str | None) -> Demand:
        from cinegen.engine import memory
        from cinegen.engine.plan import resolve_model
        from cinegen.errors import SpecError
        from cinegen.spec import Preset

        settings = self.settings
        try:
            chosen = Preset(preset) if preset is not None and preset in Preset.__members__ else None
            entry, _ = resolve_model(model, chosen, settings)
        except SpecError:
            return Demand(None)
        found = memory.need(entry, quantize=settings.quantize)
        if found is None:
            return Demand(entry.id)
        tiers = memory.TIERS if settings.memory == "auto" else (settings.memory,)
        tiled = settings.vae_tiling is not False
        least = min(found.on_device(tier, tiled=tiled) for tier in tiers)
        return Demand(entry.id, int(least / memory.HEADROOM))


@dataclass(frozen=True)
class Routing:
    """The claim's policy: ``QueueSettings`` and the sizer of this deployment."""

    max_wait_s: float = 300.0
    role_weights: Mapping[str, float] = field(default_factory=dict)
    beat_s: float = 10.0
    share_window_s: float = 600.0
    # Waiting tasks per worker that has their model loaded, up to which the others leave
    # them (its next render and one more). Measured (bench/routing.py, seeds 1-6): 1 cut
    # loads to 0.47-0.52 of oldest-first's, 2 to 0.43-0.48 for some 10 s more p50 wait.
    leave_depth: int = 2
    policy: str = "routed"  # a row of POLICIES
    sizer: Sizer = field(default_factory=Sizer)

    @classmethod
    def configured(cls, settings: Settings) -> Routing:
        queue: QueueSettings = settings.queue
        return cls(
            max_wait_s=queue.max_wait_s,
            role_weights={str(role): w for role, w in queue.role_weights.items()},
            beat_s=queue.beat_s,
            share_window_s=queue.share_window_s,
            leave_depth=queue.leave_depth,
            sizer=Sizer(settings),
        )

    @property
    def gone_after_s(self) -> float:
        """A worker silent this long counts as gone (three beats missed)."""
        return 3 * self.beat_s

    def weight(self, role: str) -> float:
        return self.role_weights.get(role, 1.0)


@dataclass
class Board:
    """What the rules read for one claim: the worker, the time, the accounts' turns."""

    me: Profile
    now: datetime
    routing: Routing
    turn: dict[str, float] = field(default_factory=dict)  # task id -> its account's turn
    holders: Counter[str | None] = field(default_factory=Counter)  # model -> other workers
    backlog: Counter[str | None] = field(default_factory=Counter)  # model -> tasks waiting

    def overdue(self, task: Waiting) -> bool:
        return (self.now - task.created_at).total_seconds() >= self.routing.max_wait_s

    def loaded(self, task: Waiting) -> bool:
        return task.demand.model in self.me.models

    def held(self, task: Waiting) -> bool:
        """Its model is loaded on other live workers (not here), that model has at most
        ``leave_depth`` waiting tasks per such worker, and the task is not overdue."""
        holders = self.holders[task.demand.model]
        return (
            holders > 0
            and not self.loaded(task)
            and not self.overdue(task)
            and self.backlog[task.demand.model] <= self.routing.leave_depth * holders
        )


@dataclass(frozen=True)
class Rule:
    name: str
    why: str
    key: Callable[[Waiting, Board], Any]  # smaller goes first


# Within one account's own line: its overdue tasks, then its loaded-model tasks, oldest first.
IN_LINE: tuple[Rule, ...] = (
    Rule("overdue", "waited max_wait_s: no preference holds it", lambda t, b: not b.overdue(t)),
    Rule("loaded", "its model is loaded here: no load", lambda t, b: not b.loaded(t)),
    Rule("age", "oldest first", lambda t, b: (t.created_at, t.id)),
)  # fmt: skip

# Across accounts (the module docstring says why in this order).
RANKING: tuple[Rule, ...] = (
    Rule("first", "an account's first task: no backlog holds it", lambda t, b: b.turn[t.id] > 0),
    Rule("overdue", "waited max_wait_s: no preference holds it", lambda t, b: not b.overdue(t)),
    Rule("loaded", "its model is loaded here: no load", lambda t, b: not b.loaded(t)),
    Rule("turn", "accounts take turns, weighted by role", lambda t, b: b.turn[t.id]),
    Rule("age", "oldest first", lambda t, b: (t.created_at, t.id)),
)  # fmt: skip


@dataclass(frozen=True)
class Leave:
    name: str
    why: str
    test: Callable[[Waiting, Board], bool]  # True: this worker does not take it now


# Tasks this worker leaves for others although it could hold them (after turns are counted:
# a task left to another worker still stands in its account's line).
LEAVE: tuple[Leave, ...] = (
    Leave("held", "another worker has its model loaded: it takes it next", lambda t, b: b.held(t)),
)


@dataclass(frozen=True)
class Policy:
    ranking: tuple[Rule, ...]
    leave: tuple[Leave, ...]


POLICIES: dict[str, Policy] = {
    "routed": Policy(RANKING, LEAVE),
    # The queue before routing, the baseline bench/routing.py measures against.
    "oldest_first": Policy(tuple(r for r in RANKING if r.name == "age"), ()),
}


def _left(task: Waiting, leave: Sequence[Leave], board: Board) -> bool:
    return any(rule.test(task, board) for rule in leave)


def _ordered(tasks: Iterable[Waiting], rules: Sequence[Rule], board: Board) -> list[Waiting]:
    return sorted(tasks, key=lambda t: tuple(rule.key(t, board) for rule in rules))


@dataclass(frozen=True)
class Route:
    ranked: list[str]  # task ids, the one to take first first
    unservable: list[tuple[str, str]]  # (task id, why no worker could hold it)


def route(
    waiting: Iterable[Waiting],
    *,
    me: Profile,
    fleet: Sequence[Profile],
    served: Mapping[str, int],
    now: datetime,
    routing: Routing,
) -> Route:
    """The tasks ``me`` may take now, best first, and those no worker of ``fleet`` (the live
    workers, ``me`` among them, with their loaded models) could ever hold. ``served``: per
    account, its tasks running or started or finished within ``share_window_s``."""
    most = _most(fleet)
    unservable, lines = [], defaultdict(list)
    board = Board(me=me, now=now, routing=routing)
    board.holders.update(m for w in fleet if w.name != me.name for m in w.models)
    for task in waiting:
        if most is not None and task.demand.need > most:
            unservable.append((task.id, _unservable_message(task.demand, most)))
            continue
        board.backlog[task.demand.model] += 1
        if me.fits(task.demand):  # one too large for this worker waits for one that can
            lines[task.account_id].append(task)
    for account, tasks in lines.items():
        for k, task in enumerate(_ordered(tasks, IN_LINE, board)):
            board.turn[task.id] = (served.get(account, 0) + k) / routing.weight(task.role)
    policy = POLICIES[routing.policy]
    mine = [t for ts in lines.values() for t in ts if not _left(t, policy.leave, board)]
    return Route([t.id for t in _ordered(mine, policy.ranking, board)], unservable)


def _most(fleet: Sequence[Profile]) -> int | None:
    """The most device memory any worker of ``fleet`` can give (None: one is unplanned,
    or there is no worker to ask)."""
    if not fleet or any(w.most is None for w in fleet):
        return None
    return max(w.most or 0 for w in fleet)


def _unservable_message(demand: Demand, most: int) -> str:
    return (
        f"no worker can hold {demand.model}: it needs {demand.need / GiB:.1f} GiB of device "
        f"memory and the most any live worker has is {most / GiB:.1f} GiB; add a worker with "
        "more memory, or allow a smaller memory tier or quantization"
    )
