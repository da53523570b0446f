"""Sharing with and without review, on SQLite and PostgreSQL."""

from __future__ import annotations

from pathlib import Path

import pytest

from cinegen.jobs.assets import delete_task
from cinegen.jobs.queue import submit
from cinegen.store import shares
from cinegen.store.keys import create_key
from cinegen.store.models import Generation, Share, ShareState, TaskState, new_id


def _generation(session) -> Generation:
    owner = create_key(session, new_id("who")).key.account_id
    task = submit(session, owner, {"prompt": "a red circle"})
    task.state = TaskState.succeeded
    generation = Generation(id=new_id("gen"), task_id=task.id, index=0, seed=1, width=64,
                            height=64, n_frames=8, files={})  # fmt: skip
    session.add(generation)
    session.commit()
    return generation


def test_without_review_sharing_is_immediate_and_with_it_waits(sessions, tmp_path: Path):
    with sessions() as session:
        open_share = shares.request(session, _generation(session), "acct_a", review=False)
        assert open_share.state is ShareState.approved and open_share.decided_by == "no review"
        assert shares.public(session, open_share.public_id) is open_share

        waiting = shares.request(session, _generation(session), "acct_b", review=True)
        assert waiting.state is ShareState.pending and waiting.public_id is None
        assert shares.pending(session) == [waiting]
        shares.decide(session, waiting, "acct_rita", approve=True, reason="")
        assert shares.public(session, waiting.public_id) is waiting and not shares.pending(session)

        task_id = waiting.generation.task_id
        delete_task(session, tmp_path, task_id)  # a deleted video's page goes with it
        assert session.get(Share, waiting.generation_id) is None


def test_a_decision_is_made_once_and_never_by_the_owner(sessions):
    with sessions() as session:
        share = shares.request(session, _generation(session), "acct_a", review=True)
        with pytest.raises(shares.AlreadyDecided, match="own generation"):
            shares.decide(session, share, share.account_id, approve=True, reason="")
        shares.decide(session, share, "acct_rita", approve=False, reason="off brand")
        with pytest.raises(shares.AlreadyDecided, match="already rejected"):
            shares.decide(session, share, "acct_sam", approve=True, reason="")
        assert share.state is ShareState.rejected and share.public_id is None
