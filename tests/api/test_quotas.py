"""Quotas per key and role, as a client meets them: the reason, when to come back, and
nothing queued past the limit."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import httpx
import openai
import pytest
from sqlalchemy import func, select

from cinegen.api import tasks
from cinegen.api.errors import ApiError
from cinegen.config import Settings
from cinegen.jobs.queue import QueuePolicy, claim, finish
from cinegen.store import audit
from cinegen.store.keys import create_key, set_quota
from cinegen.store.models import ApiKey, Role, Task, TaskState


@pytest.fixture(scope="module")
def service_settings() -> dict[str, object]:
    return {
        "quotas": {"artist": {"videos_per_day": 3, "max_seconds": 2}},
        "max_active_tasks_per_account": 20,  # the quota, not the concurrency limit, is tested
    }


def test_a_key_past_its_quota_is_refused_with_the_reason(service):
    with service.sessions() as session:
        new = create_key(session, "ada")
        root = create_key(session, "root", role=Role.admin).secret
    client = openai.OpenAI(base_url=f"{service.url}/v1", api_key=new.secret, max_retries=0)
    small = {"prompt": "a red circle", "size": "64x64", "seconds": "1", "extra_body": {"seed": 1}}
    with pytest.raises(openai.PermissionDeniedError) as caught:  # longer than the role may
        client.videos.create(**{**small, "seconds": "3"})
    assert caught.value.body["code"] == "over_key_limit" and caught.value.body["param"] == "seconds"
    assert "up to 2 s" in caught.value.body["message"]

    for _ in range(3):
        client.videos.create(**small)
    with pytest.raises(openai.RateLimitError) as caught:
        client.videos.create(**small)
    error, headers = caught.value.body, caught.value.response.headers
    assert error["code"] == "quota_exceeded" and "3 videos in the last day" in error["message"]
    assert 0 < int(headers["retry-after"]) <= 24 * 3600
    sora = httpx.Client(base_url=service.url, headers={"Authorization": f"Bearer {new.secret}"})
    body = {"prompt": "a blue square", "n_frames": 15, "width": 64, "height": 64, "seed": 1}
    refused = sora.post("/backend/video_gen", json=body)
    assert refused.status_code == 429 and refused.json()["error"]["code"] == "quota_exceeded"
    assert len(client.videos.list().data) == 3  # nothing queued past the limit

    with service.sessions() as session:  # this key gets more than its role
        set_quota(session, new.key.id, {"videos_per_day": 5}, actor="cli:op")
    assert client.videos.create(**small).status == "queued"
    admin = openai.OpenAI(base_url=f"{service.url}/v1", api_key=root, max_retries=0)
    for _ in range(4):  # no quota for admins here
        admin.videos.create(**small)
    with service.sessions() as session:
        lines = [e for e in audit.read(session) if e.action in ("quota.refuse", "key.quota")]
    assert [e.action for e in lines] == ["quota.refuse", "quota.refuse", "quota.refuse",
                                         "key.quota"]  # fmt: skip


def test_concurrent_requests_never_take_a_key_past_its_quota(service):
    """Eight creates at the same moment on a key with 3 videos a day left: exactly three
    are queued, each check seeing the tasks of the requests before it."""
    with service.sessions() as session:
        secret = create_key(session, "grace").secret
    barrier = threading.Barrier(8)

    auth = {"Authorization": f"Bearer {secret}"}
    form = {"prompt": "a red circle", "size": "64x64", "seconds": "1", "seed": 1}

    def create(_: int) -> int:
        with httpx.Client(base_url=service.url, timeout=60) as client:
            barrier.wait()
            return client.post("/v1/videos", headers=auth, json=form).status_code

    with ThreadPoolExecutor(8) as pool:
        codes = sorted(pool.map(create, range(8)))
    assert codes == [200] * 3 + [429] * 5, codes


def test_each_server_process_sees_the_tasks_queued_before_it(sessions):
    """Eight creates at once on one key, each in its own session (as in as many server
    processes, on SQLite or PostgreSQL): exactly the quota's three are queued."""
    settings = Settings(quotas={"artist": {"videos_per_day": 3}}, max_active_tasks_per_account=20)
    with sessions() as session:
        key_id = create_key(session, "lin").key.id
    barrier = threading.Barrier(8)

    def create(_: int) -> str:
        with sessions() as session:
            key = session.get(ApiKey, key_id)
            assert key is not None
            fields = {
                "prompt": "a red circle",
                "width": 64,
                "height": 64,
                "n_frames": 24,
                "seed": 1,
            }
            barrier.wait()
            try:
                tasks.create(session, key.account, fields, settings=settings, key=key)
            except ApiError as exc:
                return exc.code
            return "queued"

    with ThreadPoolExecutor(8) as pool:
        outcomes = sorted(pool.map(create, range(8)))
    assert outcomes == ["queued"] * 3 + ["quota_exceeded"] * 5, outcomes
    with sessions() as session:
        assert session.scalar(select(func.count()).select_from(Task)) == 3


def test_a_key_may_have_so_many_unfinished_tasks_at_once(sessions):
    settings = Settings(quotas={"artist": {"max_active_tasks": 2}}, max_active_tasks_per_account=20)
    fields = {"prompt": "a red circle", "width": 64, "height": 64, "n_frames": 24, "seed": 1}
    with sessions() as session:
        key = create_key(session, "ada").key
        first = tasks.create(session, key.account, fields, settings=settings, key=key)
        tasks.create(session, key.account, fields, settings=settings, key=key)
        with pytest.raises(ApiError) as caught:
            tasks.create(session, key.account, fields, settings=settings, key=key)
        assert caught.value.status == 429 and caught.value.code == "quota_exceeded"
        assert "2 unfinished tasks and may have 2 at once" in caught.value.message
        assert int(caught.value.headers["Retry-After"]) > 0
        claim(session, "w", QueuePolicy())
        finish(
            session, first.id, worker="w", state=TaskState.succeeded, generations=[], keep_for=None
        )
        task = tasks.create(session, key.account, fields, settings=settings, key=key)
        assert task.state.value == "queued"
