"""A replay of mixed traffic through the claim's ranking (pure: ``routing.route``, no
database): three models, four accounts, one of them flooding, two workers that each keep
one model loaded and see each other's (as a claim sees the live workers). Routed claims
load models far less often than oldest-first, and the flood delays no other account's
first task by more than one render per worker."""

from __future__ import annotations

import random
from collections import Counter
from datetime import UTC, datetime, timedelta

from cinegen.jobs.routing import Demand, Profile, Routing, Sizer, Waiting, route

MODELS = ("wan", "ltx-video", "cogvideox")
ROUTING = Routing(max_wait_s=3600, sizer=Sizer())
START = datetime(2026, 12, 7, tzinfo=UTC)


def _traffic(seed: int) -> list[Waiting]:
    """The flooder's 60 tasks first, then three accounts' 6 each, models drawn at random."""
    draw = random.Random(seed)
    owners = ["flood"] * 60 + [f"team{i}" for i in range(3) for _ in range(6)]
    return [
        Waiting(
            id=f"t{n:03d}",
            account_id=owner,
            role="artist",
            created_at=START + timedelta(seconds=n),
            demand=Demand(draw.choice(MODELS)),
        )
        for n, owner in enumerate(owners)
    ]


def _replay(tasks: list[Waiting], *, routed: bool) -> tuple[int, list[str]]:
    """Two workers take turns claiming; each render is one tick, a worker left nothing
    waits for the next. (model loads, the order tasks were taken)."""
    loaded: dict[str, str | None] = {"w0": None, "w1": None}
    waiting, served, order, loads = list(tasks), Counter[str](), [], 0
    now = START + timedelta(seconds=len(tasks))
    while waiting:
        for name in loaded:
            if not waiting:
                break
            if routed:
                fleet = [Profile(w, models=(m,) if m else ()) for w, m in loaded.items()]
                me = next(w for w in fleet if w.name == name)
                found = route(waiting, me=me, fleet=fleet, served=served, now=now,
                              routing=ROUTING)  # fmt: skip
                if not found.ranked:
                    continue
                pick = next(t for t in waiting if t.id == found.ranked[0])
            else:
                pick = min(waiting, key=lambda t: t.created_at)
            waiting.remove(pick)
            served[pick.account_id] += 1
            order.append(pick.account_id)
            if loaded[name] != pick.demand.model:
                loads, loaded[name] = loads + 1, pick.demand.model
        now += timedelta(seconds=1)
    return loads, order


def test_routed_claims_load_models_half_as_often_as_oldest_first():
    for seed in range(5):
        tasks = _traffic(seed)
        routed, _ = _replay(tasks, routed=True)
        oldest, _ = _replay(tasks, routed=False)
        assert routed * 2 <= oldest, (seed, routed, oldest)


def test_a_flood_delays_no_other_accounts_first_task_by_more_than_one_render_each():
    _, order = _replay(_traffic(0), routed=True)
    firsts = {account: order.index(account) for account in ("team0", "team1", "team2")}
    # Two workers: the first two claims go to the flood's oldest task and team0's, then
    # every other account's first task in the next round.
    assert max(firsts.values()) <= 3, firsts
    _, oldest_first = _replay(_traffic(0), routed=False)
    assert oldest_first.index("team0") == 60  # behind the whole flood
