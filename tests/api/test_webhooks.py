"""Webhooks: an account's endpoints, made with the official SDK, receive each of its videos'
ends signed so that the SDK's ``client.webhooks.unwrap`` verifies them; a receiver that
fails is retried later; URLs the operator did not approve are refused."""

from __future__ import annotations

import http.server
import json
import queue
import threading
import time
from collections.abc import Iterator

import openai
import pytest
from sqlalchemy import select, update

from cinegen.store import webhook_urls
from cinegen.store.models import DeliveryState, WebhookDelivery, utcnow

from ..servers import free_port

pytestmark = pytest.mark.slow  # a live server that renders, and a receiver on loopback

SMALL = {"size": "160x96", "seconds": "1", "extra_body": {"seed": 1}}
EVENTS_WAIT = 60.0  # a render takes seconds alone, more on a loaded machine


class Receiver:
    """A webhook receiver on loopback: every POST it gets, answered with ``status``."""

    def __init__(self) -> None:
        self.got: queue.Queue[tuple[str, dict[str, str], bytes]] = queue.Queue()
        self.status = 200
        receiver = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["content-length"]))
                receiver.got.put((self.path, {k.lower(): v for k, v in self.headers.items()}, body))
                self.send_response(receiver.status)
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", free_port()), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def next(self, path: str) -> tuple[dict[str, str], bytes]:
        """The next delivery to ``path`` (others, meant for other tests, are dropped)."""
        while True:
            got, headers, body = self.got.get(timeout=EVENTS_WAIT)
            if got == path:
                return headers, body


@pytest.fixture(scope="module")
def receiver() -> Iterator[Receiver]:
    receiver = Receiver()
    yield receiver
    receiver.server.shutdown()


@pytest.fixture(scope="module")
def service_settings(receiver) -> dict[str, object]:
    return {"webhook_urls": [f"{receiver.url}/hooks/"]}


@pytest.fixture(scope="module")
def client(service) -> openai.OpenAI:
    return openai.OpenAI(base_url=f"{service.url}/v1", api_key=service.key("hooks"), max_retries=0)


def test_a_finished_video_reaches_the_endpoint_signed_for_the_sdk(client, receiver):
    endpoint = client.webhooks.create(
        name="ci", url=f"{receiver.url}/hooks/done", event_types=["video.completed"]
    )
    assert endpoint.signing_secret.startswith("whsec_")
    assert endpoint.signing_secret_hint and endpoint.signing_secret not in endpoint.model_dump_json(
        exclude={"signing_secret"}
    )
    video = client.videos.create_and_poll(prompt="a red circle moving left", **SMALL)
    assert video.status == "completed", video.error

    headers, body = receiver.next("/hooks/done")
    event = client.webhooks.unwrap(body, headers, secret=endpoint.signing_secret)
    assert event.type == "video.completed" and event.data.id == video.id
    assert headers["webhook-id"] == event.id and event.id.startswith("evt_")
    with pytest.raises(openai.InvalidWebhookSignatureError):  # another secret: refused
        client.webhooks.unwrap(body, headers, secret="whsec_" + "A" * 44)
    client.webhooks.delete(endpoint.id)


def test_a_rotation_that_keeps_the_old_secret_signs_with_both(client, receiver):
    first = client.webhooks.create(
        name="rotating", url=f"{receiver.url}/hooks/rotate", event_types=["batch.completed"]
    )
    rotated = client.webhooks.rotate_secret(first.id, keep_old_secret_active_for_24_hours=True)
    assert rotated.signing_secret != first.signing_secret
    result = client.webhooks.test(first.id, event_type="batch.completed")
    assert (result.status_code, result.webhook_endpoint_id) == (200, first.id)
    headers, body = receiver.next("/hooks/rotate")
    for secret in (first.signing_secret, rotated.signing_secret):
        assert client.webhooks.unwrap(body, headers, secret=secret).type == "batch.completed"

    dropped = client.webhooks.rotate_secret(first.id)  # the old secret dies at once
    client.webhooks.test(first.id, event_type="batch.completed")
    headers, body = receiver.next("/hooks/rotate")
    client.webhooks.unwrap(body, headers, secret=dropped.signing_secret)
    with pytest.raises(openai.InvalidWebhookSignatureError):
        client.webhooks.unwrap(body, headers, secret=rotated.signing_secret)
    client.webhooks.delete(first.id)


def test_only_urls_the_operator_approved_are_taken(client, receiver):
    for url in ("https://example.com/hooks/x", f"{receiver.url}/elsewhere",
                f"{receiver.url}/hooks.evil/x"):  # fmt: skip
        with pytest.raises(openai.BadRequestError) as refused:
            client.webhooks.create(name="x", url=url, event_types=["video.failed"])
        error = refused.value.body
        assert error["param"] == "url" and f"{receiver.url}/hooks/" in error["message"]
    with pytest.raises(openai.BadRequestError) as refused:
        client.webhooks.create(
            name="x", url=f"{receiver.url}/hooks/x", event_types=["response.completed"]
        )
    assert refused.value.body["param"] == "event_types.0"
    assert "video.completed" in refused.value.body["message"]


def test_a_url_the_operator_approved_for_one_account_is_that_accounts_alone(service, receiver):
    customer, other = (openai.OpenAI(base_url=f"{service.url}/v1", api_key=service.key(name),
                                     max_retries=0) for name in ("customer", "other"))  # fmt: skip
    theirs = f"{receiver.url}/customer/"
    with pytest.raises(openai.BadRequestError) as refused:
        customer.webhooks.create(name="c", url=f"{theirs}in", event_types=["video.failed"])
    assert theirs not in refused.value.body["message"]

    with service.sessions() as session:
        assert webhook_urls.allow(session, "customer", theirs, actor="cli:ops")
    endpoint = customer.webhooks.create(name="c", url=f"{theirs}in", event_types=["video.failed"])
    assert customer.webhooks.test(endpoint.id, event_type="video.failed").status_code == 200
    receiver.next("/customer/in")
    with pytest.raises(openai.BadRequestError) as refused:  # not another account's to use
        other.webhooks.create(name="o", url=f"{theirs}in", event_types=["video.failed"])
    assert theirs not in refused.value.body["message"]

    with service.sessions() as session:
        webhook_urls.disallow(session, "customer", theirs, actor="cli:ops")
    with pytest.raises(openai.BadRequestError):  # withdrawn: nothing more is sent there
        customer.webhooks.test(endpoint.id, event_type="video.failed")
    customer.webhooks.delete(endpoint.id)


def test_endpoints_list_update_and_belong_to_their_account(client, service, receiver):
    owner = openai.OpenAI(base_url=client.base_url, api_key=service.key("owner"), max_retries=0)
    made = [
        owner.webhooks.create(name=f"n{i}", url=f"{receiver.url}/hooks/{i}",
                              event_types=["video.failed"])
        for i in range(3)
    ]  # fmt: skip
    page = owner.webhooks.list(limit=2)
    assert [e.id for e in page.data] == sorted(e.id for e in made)[:2] and page.has_more
    assert sorted(e.id for e in owner.webhooks.list()) == sorted(e.id for e in made)

    same = owner.webhooks.update(made[0].id, name="n0")
    assert same.updated_at == made[0].updated_at  # nothing changed: not advanced
    moved = owner.webhooks.update(made[0].id, url=f"{receiver.url}/hooks/moved")
    assert moved.url.endswith("/hooks/moved") and moved.name == "n0"
    with pytest.raises(openai.BadRequestError):
        owner.webhooks.update(made[0].id, url="https://example.com/")
    assert owner.webhooks.retrieve(made[0].id).url.endswith("/hooks/moved")  # kept

    for call in (client.webhooks.retrieve, client.webhooks.delete):
        with pytest.raises(openai.NotFoundError):
            call(made[1].id)
    assert client.webhooks.event_types.list().data[:2] == ["video.completed", "video.failed"]


def test_a_failing_receiver_is_retried_later_and_then_gets_the_event(client, service, receiver):
    endpoint = client.webhooks.create(
        name="flaky", url=f"{receiver.url}/hooks/flaky", event_types=["video.completed"]
    )
    receiver.status = 503
    try:
        video = client.videos.create_and_poll(prompt="a blue square moving up", **SMALL)
        headers, body = receiver.next("/hooks/flaky")  # the first attempt, refused
    finally:
        receiver.status = 200
    delivery = first_attempt_recorded(service, endpoint.id)
    assert (delivery.state, delivery.status_code) == (DeliveryState.pending, 503)
    with service.sessions() as session:  # the pause over: the server's courier sends again
        session.execute(
            update(WebhookDelivery)
            .where(WebhookDelivery.id == delivery.id)
            .values(next_attempt_at=utcnow())
        )
        session.commit()
    again_headers, again = receiver.next("/hooks/flaky")
    assert again == body and again_headers["webhook-id"] == headers["webhook-id"]
    assert json.loads(again)["data"]["id"] == video.id
    client.webhooks.delete(endpoint.id)


def first_attempt_recorded(service, endpoint_id: str) -> WebhookDelivery:
    """The endpoint's one delivery once the courier has written its first attempt down (it
    does so after the receiver answers)."""
    deadline = time.monotonic() + EVENTS_WAIT
    while time.monotonic() < deadline:
        with service.sessions() as session:
            delivery = session.scalars(
                select(WebhookDelivery).where(WebhookDelivery.endpoint_id == endpoint_id)
            ).one()
            if delivery.attempts:
                return delivery
        time.sleep(0.05)
    raise AssertionError("the first attempt was never recorded")


def test_a_batch_nobody_polls_ends_and_its_endpoint_hears_so(client, receiver):
    endpoint = client.webhooks.create(
        name="bulk", url=f"{receiver.url}/hooks/batch", event_types=["batch.completed"]
    )
    lines = [
        {"custom_id": f"shot-{n}", "method": "POST", "url": "/v1/videos",
         "body": {"prompt": f"a green star spinning, take {n}", "size": "96x96",
                  "seconds": "1", "seed": n}}
        for n in (1, 2)
    ]  # fmt: skip
    text = "".join(json.dumps(line) + "\n" for line in lines).encode()
    uploaded = client.files.create(file=("two.jsonl", text), purpose="batch")
    batch = client.batches.create(
        input_file_id=uploaded.id, endpoint="/v1/videos", completion_window="24h"
    )
    # No retrieve until the event: the server moves the batch on by itself.
    headers, body = receiver.next("/hooks/batch")
    event = client.webhooks.unwrap(body, headers, secret=endpoint.signing_secret)
    assert (event.type, event.data.id) == ("batch.completed", batch.id)
    ended = client.batches.retrieve(batch.id)
    assert ended.status == "completed" and ended.request_counts.completed == 2
    client.webhooks.delete(endpoint.id)
