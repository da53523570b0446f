"""The webhook outbox: a task's end queues its event in the same commit, for the endpoints
that asked for it; the courier signs each delivery, retries a failing receiver after growing
pauses and gives up after the last; a redirect is a failure, never followed."""

from __future__ import annotations

import http.server
import json
import threading
from collections.abc import Iterator, Mapping
from datetime import timedelta

import pytest
from openai import OpenAI
from sqlalchemy import select, update

from cinegen.jobs import webhooks
from cinegen.jobs.queue import QueuePolicy, cancel, claim, finish, submit
from cinegen.jobs.webhooks import BACKOFF_SECONDS, Courier
from cinegen.store import webhook_urls
from cinegen.store.keys import create_key
from cinegen.store.models import (
    DeliveryState,
    TaskState,
    WebhookDelivery,
    WebhookEndpoint,
    new_id,
    utcnow,
)

from ..servers import free_port

POLICY = QueuePolicy(lease_seconds=30, max_attempts=2)
SPEC = {"prompt": "a red circle moving left over the ocean", "n_variants": 1, "seed": 1}
SDK = OpenAI(api_key="unused", base_url="http://127.0.0.1:9/v1")  # unwrap needs no server
PREFIXES = ["http://127.0.0.1:9/hooks"]  # the deployment's, as CINEGEN_WEBHOOK_URLS


class Sent:
    """A stand-in receiver: records each delivery and answers the next status in line."""

    def __init__(self, *statuses: int) -> None:
        self.statuses = list(statuses)
        self.calls: list[tuple[str, bytes, dict[str, str]]] = []

    def __call__(self, url: str, body: bytes, headers: Mapping[str, str], timeout: float) -> int:
        self.calls.append((url, body, dict(headers)))
        return self.statuses.pop(0) if self.statuses else 200


def endpoint(sessions, account_id: str, *event_types: str) -> WebhookEndpoint:
    with sessions() as session:
        made = WebhookEndpoint(
            id=new_id("we"),
            account_id=account_id,
            name="test",
            url="http://127.0.0.1:9/hooks",
            event_types=list(event_types),
            secret=webhooks.new_secret(),
        )
        session.add(made)
        session.commit()
        session.refresh(made)
        session.expunge(made)
        return made


@pytest.fixture
def account(sessions) -> str:
    with sessions() as session:
        return create_key(session, "hooked").key.account_id


def deliveries(sessions) -> list[WebhookDelivery]:
    with sessions() as session:
        rows = session.scalars(select(WebhookDelivery).order_by(WebhookDelivery.created_at))
        return list(rows)


def pauses_over(sessions) -> None:
    with sessions() as session:
        session.execute(
            update(WebhookDelivery)
            .where(WebhookDelivery.state == DeliveryState.pending)
            .values(next_attempt_at=utcnow() - timedelta(seconds=1))
        )
        session.commit()


def test_a_tasks_end_queues_its_event_for_the_endpoints_that_asked(sessions, account):
    done = endpoint(sessions, account, "video.completed")
    failed = endpoint(sessions, account, "video.failed")
    endpoint(sessions, account, "batch.completed")
    with sessions() as session:
        ok, bad, stopped = (submit(session, account, SPEC) for _ in range(3))
        claim(session, "w", POLICY), claim(session, "w", POLICY)
        finish(session, ok.id, worker="w", state=TaskState.succeeded)
        finish(session, bad.id, worker="w", state=TaskState.failed, error_message="broke")
        cancel(session, stopped.id)  # a cancel sends nothing
    sent = {(d.endpoint_id, d.type): d for d in deliveries(sessions)}
    assert set(sent) == {(done.id, "video.completed"), (failed.id, "video.failed")}
    assert json.loads(sent[done.id, "video.completed"].body)["data"] == {"id": ok.id}
    assert all(d.state is DeliveryState.pending for d in sent.values())


def test_each_delivery_is_signed_for_the_sdk_and_sent_once(sessions, account):
    hook = endpoint(sessions, account, "video.completed")
    with sessions() as session:
        webhooks.emit(session, account, "video.completed", "task_1")
        session.commit()
    send = Sent(204)
    assert Courier(sessions, send=send, prefixes=PREFIXES).deliver_due() == 1
    assert (
        Courier(sessions, send=send, prefixes=PREFIXES).deliver_due() == 0
    )  # delivered: not again
    url, body, headers = send.calls[0]
    event = SDK.webhooks.unwrap(body, headers, secret=hook.secret)
    assert (url, event.type, event.data.id) == (hook.url, "video.completed", "task_1")
    (delivery,) = deliveries(sessions)
    assert delivery.state is DeliveryState.delivered and delivery.status_code == 204


def test_a_failing_receiver_waits_longer_each_time_then_the_delivery_fails(sessions, account):
    endpoint(sessions, account, "video.failed")
    with sessions() as session:
        webhooks.emit(session, account, "video.failed", "task_2")
        session.commit()
    send = Sent(*[500] * (len(BACKOFF_SECONDS) + 1))
    courier = Courier(sessions, send=send, prefixes=PREFIXES)
    for pause in BACKOFF_SECONDS:
        before = utcnow()
        courier.deliver_due()
        (delivery,) = deliveries(sessions)
        assert delivery.state is DeliveryState.pending
        wait = (delivery.next_attempt_at - before).total_seconds()
        assert pause - 1 <= wait <= pause + 5, (pause, wait)
        assert courier.deliver_due() == 0  # not before its time
        pauses_over(sessions)
    courier.deliver_due()
    (delivery,) = deliveries(sessions)
    assert delivery.state is DeliveryState.failed and delivery.attempts == len(BACKOFF_SECONDS) + 1
    assert delivery.last_error == "the receiver answered 500"
    assert len({body for _, body, _ in send.calls}) == 1  # the same event every time


def test_an_endpoint_deleted_takes_its_deliveries_with_it(sessions, account):
    hook = endpoint(sessions, account, "video.completed")
    with sessions() as session:
        webhooks.emit(session, account, "video.completed", "task_3")
        session.commit()
        session.delete(session.get(WebhookEndpoint, hook.id))
        session.commit()
    send = Sent()
    assert Courier(sessions, send=send, prefixes=PREFIXES).deliver_due() == 0 and not send.calls


@pytest.fixture
def redirecting() -> Iterator[str]:
    class Handler(http.server.BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            self.rfile.read(int(self.headers["content-length"]))
            self.send_response(307)
            self.send_header("location", "http://127.0.0.1:9/elsewhere")
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", free_port()), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_port}/hooks"
    server.shutdown()


def test_an_endpoint_whose_approval_is_withdrawn_is_sent_nothing_more(sessions):
    with sessions() as session:
        account = create_key(session, "customer").key.account_id
        webhook_urls.allow(session, "customer", "http://127.0.0.1:9/customer", actor="cli:ops")
    hook = endpoint(sessions, account, "video.completed")
    hook_url = "http://127.0.0.1:9/customer/in"
    with sessions() as session:
        session.execute(update(WebhookEndpoint).values(url=hook_url))
        webhooks.emit(session, account, "video.completed", "video_1")
        session.commit()
    send = Sent()
    assert Courier(sessions, send=send).deliver_due() == 1  # its own approval: sent
    assert [url for url, _, _ in send.calls] == [hook_url]

    with sessions() as session:
        webhook_urls.disallow(session, "customer", "http://127.0.0.1:9/customer", actor="cli:ops")
        webhooks.emit(session, account, "video.completed", "video_2")
        session.commit()
    Courier(sessions, send=send).deliver_due()
    assert len(send.calls) == 1  # nothing more
    with sessions() as session:
        last = session.scalars(
            select(WebhookDelivery).where(WebhookDelivery.endpoint_id == hook.id)
            .order_by(WebhookDelivery.created_at.desc())
        ).first()  # fmt: skip
    assert last.state is DeliveryState.failed and "no longer" in last.last_error


def test_a_redirect_is_a_failed_attempt_not_followed(redirecting):
    assert webhooks.post(redirecting, b"{}", {"content-type": "application/json"}, 5.0) == 307
