"""A claim storm on PostgreSQL: 64 workers claiming at once each take tasks nobody else
took (``FOR UPDATE SKIP LOCKED``), every task once, none retrying more than once."""

from __future__ import annotations

import functools
import threading
from collections import Counter

from sqlalchemy import create_engine, select
from sqlalchemy.orm import sessionmaker

from cinegen.config import Settings
from cinegen.jobs.queue import QueuePolicy, claim, submit
from cinegen.jobs.routing import Routing, Sizer
from cinegen.store.db import migrate
from cinegen.store.keys import create_key
from cinegen.store.models import Task, TaskState

CLAIMERS, TASKS_PER_ACCOUNT, ACCOUNTS = 64, 40, 5
POLICY = QueuePolicy(lease_seconds=300, routing=Routing(sizer=Sizer(Settings())))


def test_64_claimers_take_every_task_once_without_retrying_against_each_other(postgres):
    url = postgres.fresh_database()
    schema = create_engine(url)
    migrate(schema)
    schema.dispose()
    # No claimer ever waits for a rival's row lock: one that did would fail here.
    never_wait = {"options": "-c lock_timeout=1"}
    engine = create_engine(url, pool_size=CLAIMERS, max_overflow=0, connect_args=never_wait)
    sessions = sessionmaker(engine, expire_on_commit=False)
    with sessions() as session:
        accounts = [create_key(session, f"a{i}").key.account_id for i in range(ACCOUNTS)]
        ids = [
            submit(session, account, {"prompt": f"take {n}", "seed": n}).id
            for n in range(TASKS_PER_ACCOUNT)
            for account in accounts
        ]
    claimed: list[str] = []
    retries: Counter[tuple[str, int]] = Counter()  # (claimer, its n-th claim) -> retries
    start = threading.Barrier(CLAIMERS)
    errors: list[BaseException] = []

    def claimer(name: str) -> None:
        try:
            claim_all(name)
        except BaseException as exc:  # (a thread's exception would pass unnoticed)
            errors.append(exc)

    def claim_all(name: str) -> None:
        with sessions() as session:
            start.wait()
            for n in range(len(ids) + 1):
                retried = functools.partial(retries.update, [(name, n)])
                task = claim(session, name, POLICY, on_retry=retried)
                if task is None:
                    return
                claimed.append(task.id)

    threads = [threading.Thread(target=claimer, args=(f"w{i}",)) for i in range(CLAIMERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=300)
    assert not any(thread.is_alive() for thread in threads)
    assert [repr(e) for e in errors] == []
    assert sorted(claimed) == sorted(ids)  # every task claimed, none twice
    assert max(retries.values(), default=0) <= 1
    with sessions() as session:
        states = Counter(session.scalars(select(Task.state)))
        assert states == {TaskState.running: len(ids)}
        owners = session.scalars(select(Task.lease_owner)).all()
    assert len(set(owners)) > 1  # the work was shared out, not serialised on one claimer
    engine.dispose()
