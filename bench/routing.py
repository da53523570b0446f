"""A day of mixed traffic through the queue, routed claims against plain oldest-first, in one
run: model loads, p50/p95 wait, and what one account's flood does to the others' first task.

The day is replayed as events on a simulated clock through the claim's own ranking
(``jobs/routing.route``, the rules every real claim applies, under each of
``routing.POLICIES``), with N workers that each keep one model loaded and see each other's
(as a claim sees the live workers); a worker left nothing idles until a task arrives, a
worker frees or a task reaches the wait bound. ``--real`` also replays the day's first
``--real-hours`` through the real claim path (``routing_real.py``: a SQLite store,
``queue.claim`` from N threads, renders as scaled sleeps). ``--render`` runs a short day
of the models this CPU renders through N real workers that render (``routing_workers.py``).

Each model's load and render time is measured here for the embedded model and the tiny
twins (loaded and rendered once, on this CPU) and modelled for the full-size models from
their parameter counts (``footprints.py``): loading reads bf16 weights at
``LOAD_GB_PER_S``, rendering a 5-s clip takes ``RENDER_S_PER_B`` seconds per billion
transformer parameters. Trap: that is a model of a GPU fleet, not a measurement of one; the
ratios between the two policies are the result, the seconds are not.

Traffic: ``accounts`` artists send tasks through the day (Poisson arrivals, models drawn by
popularity); one more account floods ``flood`` tasks in its first hour.

    python bench/routing.py [--workers 4] [--accounts 8] [--flood 300] [--seed 1]
                            [--real [--real-hours 1] [--real-speed 100]]
                            [--render [--render-tasks 48] [--render-flood 24]]

Prints one JSON object; targets (issue 22): loads cut by at least half (``loads_ratio``
≤ 0.5); no account's first task delayed by another's backlog by more than one render
(``flood_delay_of_first_tasks_renders`` ≤ 1: the same day replayed without the flood, the
largest extra wait of any other account's first task, in renders of the longest model).
Measured (README, seeds 1-3, 2-core CPU): loads_ratio 0.425-0.470, flood delay 0.08-0.81
renders routed against 1.85-2.80 oldest-first, p50 wait 45-64 s against 178-262 s; with
turns ranked before the loaded model (the ranking before this one) loads_ratio was 0.83.
"""

from __future__ import annotations

import argparse
import heapq
import json
import random
import statistics
import time
from collections import Counter, deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from cinegen.jobs.routing import POLICIES, Demand, Profile, Routing, Sizer, Waiting, route
from cinegen.registry import MODELS

LOAD_GB_PER_S = 2.0  # NVMe to GPU, bf16 weights
LOAD_FIXED_S = 5.0  # process set-up, text encoders, moving to the device
RENDER_S_PER_B = 12.0  # seconds of GPU time per billion transformer parameters, 5-s clip
DAY_S = 24 * 3600
# Models by share of the traffic: measured (the embedded model, twins) and modelled ones.
MEASURED = {"cinegen-tiny": 0.3, "wan-tiny-random": 0.1, "ltx-video-tiny-random": 0.1}
MODELLED = {"wan": 0.2, "ltx-video": 0.15, "wan-2.2-t2v": 0.1, "cogvideox": 0.05}
START = datetime(2026, 12, 7, tzinfo=UTC)


@dataclass(frozen=True)
class Cost:
    load_s: float
    render_s: float
    how: str  # "measured" or "modelled"


def measured(model: str) -> Cost:
    """Load ``model`` in this process and render one small clip with it."""
    from cinegen.config import Settings
    from cinegen.engine.engine import Engine
    from cinegen.generation import generate
    from cinegen.spec import parse_spec

    engine = Engine(Settings(default_model=model))
    start = time.perf_counter()
    engine.backend(model)
    load_s = time.perf_counter() - start
    spec = parse_spec({"prompt": "a red circle moving right", "model": model, "width": 64,
                       "height": 64, "fps": 8, "n_frames": 16, "seed": 1})  # fmt: skip
    generate(spec, engine=engine)  # warm-up: the first render sets up the encoders
    start = time.perf_counter()
    generate(spec, engine=engine)
    return Cost(load_s, time.perf_counter() - start, "measured")


def modelled(model: str) -> Cost:
    footprint = MODELS[model].footprint
    assert footprint is not None, model
    params = footprint.transformer + footprint.text_encoder + footprint.vae
    return Cost(
        load_s=LOAD_FIXED_S + params * 2 / (LOAD_GB_PER_S * 1e9),
        render_s=RENDER_S_PER_B * footprint.transformer / 1e9,
        how="modelled",
    )


def traffic(args: argparse.Namespace, costs: dict[str, Cost]) -> list[Waiting]:
    """A day's arrivals, oldest first. The artists together keep the fleet about 70% busy."""
    draw = random.Random(args.seed)
    models, shares = zip(*{**MEASURED, **MODELLED}.items(), strict=True)
    mean_render = sum(s * costs[m].render_s for m, s in zip(models, shares, strict=True))
    per_account_s = args.accounts * mean_render / (0.7 * args.workers)  # mean gap
    arrivals: list[tuple[float, str]] = []
    for a in range(args.accounts):
        at = draw.expovariate(1 / per_account_s)
        while at < DAY_S:
            arrivals.append((at, f"artist{a}"))
            at += draw.expovariate(1 / per_account_s)
    arrivals += [(draw.uniform(0, 3600), "flood") for _ in range(args.flood)]
    arrivals.sort()
    return [
        Waiting(
            id=f"t{n:05d}",
            account_id=account,
            role="artist",
            created_at=START + timedelta(seconds=at),
            demand=Demand(draw.choices(models, shares)[0]),
        )
        for n, (at, account) in enumerate(arrivals)
    ]


def _at(task: Waiting) -> float:
    return (task.created_at - START).total_seconds()


def _choose(waiting: list[Waiting], *, name: str, loaded: dict[str, str | None],
            started: deque[tuple[float, str]], now_s: float,
            routing: Routing) -> Waiting | None:  # fmt: skip
    """The task ``name`` claims through ``route``, as a real claim sees it: every worker
    with its loaded model, each account's starts within the share window."""
    fleet = [Profile(w, models=tuple(m for m in [model] if m)) for w, model in loaded.items()]
    me = next(w for w in fleet if w.name == name)
    served = Counter(account for _, account in started)
    now = START + timedelta(seconds=now_s)
    found = route(waiting, me=me, fleet=fleet, served=served, now=now, routing=routing)
    return next((t for t in waiting if t.id == found.ranked[0]), None) if found.ranked else None


def replay(tasks: list[Waiting], costs: dict[str, Cost], *, workers: int,
           routing: Routing) -> dict[str, Any]:  # fmt: skip
    """Every worker claims when free, by ``routing.policy``; (free at, name) on a heap. The
    figures of the day."""
    arriving = deque(tasks)
    waiting: list[Waiting] = []
    loaded: dict[str, str | None] = {f"w{i}": None for i in range(workers)}
    free = [(0.0, name) for name in loaded]
    started: deque[tuple[float, str]] = deque()  # (start, account) within the share window
    waits: dict[str, float] = {}
    loads = 0
    while arriving or waiting:
        now_s, name = heapq.heappop(free)
        if not waiting and arriving:  # idle until the next arrival
            now_s = max(now_s, _at(arriving[0]))
        while arriving and _at(arriving[0]) <= now_s:
            waiting.append(arriving.popleft())
        while started and started[0][0] < now_s - routing.share_window_s:
            started.popleft()
        pick = _choose(waiting, name=name, loaded=loaded, started=started, now_s=now_s,
                       routing=routing)  # fmt: skip
        if pick is None:  # every task left to others: idle until something changes
            heapq.heappush(free, (_next_change(now_s, free, arriving, waiting, routing), name))
            continue
        waiting.remove(pick)
        model = pick.demand.model or ""
        busy = costs[model].render_s
        if loaded[name] != model:
            loads, loaded[name], busy = loads + 1, model, busy + costs[model].load_s
        waits[pick.id] = now_s - _at(pick)
        started.append((now_s, pick.account_id))
        heapq.heappush(free, (now_s + busy, name))
    return {
        "loads": loads,
        "waits": waits,
        "longest_render_s": max(c.render_s for c in costs.values()),
    }


def _next_change(now_s: float, free: list[tuple[float, str]], arriving: deque[Waiting],
                 waiting: list[Waiting], routing: Routing) -> float:  # fmt: skip
    """The next moment a claim could see something new: a worker frees, a task arrives, a
    waiting task reaches the wait bound."""
    moments = [at for at, _ in free] + [_at(t) + routing.max_wait_s for t in waiting]
    moments += [_at(arriving[0])] if arriving else []
    return min((m for m in moments if m > now_s), default=now_s + 1.0)


def summary(day: dict[str, Any], calm: dict[str, Any], tasks: list[Waiting]) -> dict[str, Any]:
    """A policy's day; ``calm`` is the same day without the flood, for the flood's effect
    on every other account's first task: its wait with the flood less its wait without,
    in renders of the longest model (the most one render under way can hold it)."""
    values = sorted(day["waits"].values())
    firsts: dict[str, str] = {}
    for task in tasks:
        if task.account_id != "flood":
            firsts.setdefault(task.account_id, task.id)
    effect = max(day["waits"][i] - calm["waits"][i] for i in firsts.values())
    others = sorted(day["waits"][t.id] for t in tasks if t.account_id != "flood")
    return {
        "loads": day["loads"],
        "wait_p50_s": round(statistics.median(values), 1),
        "wait_p95_s": round(_p95(values), 1),
        "others_wait_p95_s": round(_p95(others), 1),  # every account but the flood
        "flood_delay_of_first_tasks_s": round(effect, 1),
        "flood_delay_of_first_tasks_renders": round(effect / day["longest_render_s"], 2),
    }


def _p95(values: list[float]) -> float:
    return values[int(0.95 * (len(values) - 1))]


def arguments(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--accounts", type=int, default=8, help="artists besides the flood")
    parser.add_argument("--flood", type=int, default=300, help="tasks the flood sends")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument(
        "--real",
        action="store_true",
        help="also replay the day's start through the real claim path",
    )
    parser.add_argument(
        "--real-hours",
        type=float,
        default=1.0,
        help="--real: hours of the day replayed (the flood's included)",
    )
    parser.add_argument("--real-speed", type=float, default=100.0,
                        help="--real: simulated seconds per wall-clock second")  # fmt: skip
    parser.add_argument(
        "--render",
        action="store_true",
        help="also run a short day of the embedded model and its twins through N real "
        "workers that render (routing_workers.py)",
    )
    parser.add_argument("--render-tasks", type=int, default=48,
                        help="--render: the artists' tasks")  # fmt: skip
    parser.add_argument("--render-flood", type=int, default=24,
                        help="--render: the flood's tasks, in the first tenth")  # fmt: skip
    args = parser.parse_args(argv)
    for name in ("workers", "accounts"):
        if getattr(args, name) < 1:
            parser.error(f"--{name}: at least 1")
    return args


def main(argv: Sequence[str] | None = None) -> dict[str, Any]:
    args = arguments(argv)
    costs = {m: measured(m) for m in MEASURED} | {m: modelled(m) for m in MODELLED}
    tasks = traffic(args, costs)
    result = {
        "bench": "routing",
        "tasks": len(tasks),
        "workers": args.workers,
        "costs": {m: dataclasses_dict(c) for m, c in costs.items()},
        **compare(tasks, lambda day, routing: replay(day, costs, workers=args.workers,
                                                     routing=routing)),
    }  # fmt: skip
    if args.real:
        from routing_real import replay_real  # bench/ is on sys.path when run as a script

        hours = [t for t in tasks if t.created_at < START + timedelta(hours=args.real_hours)]
        result["real"] = {
            "tasks": len(hours),
            "speed": args.real_speed,
            **compare(hours, lambda day, routing: replay_real(
                day, costs, workers=args.workers, routing=routing, speed=args.real_speed,
                start=START)),
        }  # fmt: skip
    if args.render:
        result["render"] = rendered_day(args, costs)
    print(json.dumps(result))
    return result


def rendered_day(args: argparse.Namespace, costs: dict[str, Cost]) -> dict[str, Any]:
    """The short day of ``routing_workers.py``, each policy's figures."""
    from routing_workers import replay_workers, short_day  # bench/ is on sys.path

    def mean_render(mix: dict[str, float]) -> float:
        return sum(share * costs[m].render_s for m, share in mix.items()) / sum(mix.values())

    render_s = mean_render(MEASURED)
    speed = mean_render({**MEASURED, **MODELLED}) / render_s
    day = short_day(MEASURED, render_s, workers=args.workers, accounts=args.accounts,
                    tasks=args.render_tasks, flood=args.render_flood, seed=args.seed,
                    start=START)  # fmt: skip
    longest = max(costs[m].render_s for m in MEASURED)
    return {
        "tasks": len(day),
        "speed": round(speed, 1),
        **compare(day, lambda tasks, routing: replay_workers(
            tasks, workers=args.workers, routing=routing, speed=speed, start=START,
            render_s=longest)),
    }  # fmt: skip


def compare(tasks: list[Waiting], run: Callable[[list[Waiting], Routing], dict[str, Any]],
            ) -> dict[str, Any]:  # fmt: skip
    """Each policy's figures for ``tasks`` (``run`` replays a day under a routing), and the
    routed one's loads over oldest-first's."""
    calm = [t for t in tasks if t.account_id != "flood"]
    days = {}
    for policy in POLICIES:
        routing = Routing(policy=policy, sizer=Sizer())
        days[policy] = summary(run(tasks, routing), run(calm, routing), tasks)
    ratio = days["routed"]["loads"] / max(1, days["oldest_first"]["loads"])
    return {**days, "loads_ratio": round(ratio, 3)}


def dataclasses_dict(cost: Cost) -> dict[str, Any]:
    return {"load_s": round(cost.load_s, 2), "render_s": round(cost.render_s, 2), "how": cost.how}


if __name__ == "__main__":
    main()
