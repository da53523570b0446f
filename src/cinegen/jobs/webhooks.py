"""Webhooks: the events an account's endpoints receive, signed as Standard Webhooks (what
the OpenAI SDK's ``client.webhooks.unwrap`` verifies).

An event is written to the outbox (``WebhookDelivery``, one row per subscribed endpoint) in
the commit that made it happen (``emit``), so none is lost and none reports a change that
was rolled back. The ``Courier``, in the API process, sends what is due and retries a
receiver that fails with growing pauses; a worker never waits on a receiver.

Each delivery is ``POST url`` with the event as JSON (``{id, object: "event", created_at,
type, data: {id}}``) and the headers ``webhook-id`` (the event's id: a receiver drops
repeats by it), ``webhook-timestamp`` (Unix seconds) and ``webhook-signature``
(``v1,<base64 HMAC-SHA256 of "{id}.{timestamp}.{body}">``, one per live secret).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
import secrets
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal, get_args

from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from cinegen.config import webhook_prefixes
from cinegen.store import webhook_urls
from cinegen.store.models import (
    DeliveryState,
    WebhookDelivery,
    WebhookEndpoint,
    new_id,
    utcnow,
)

log = logging.getLogger(__name__)

# What cinegen sends, by the names of the OpenAI SDK's webhook event types.
EventType = Literal[
    "video.completed", "video.failed",
    "batch.completed", "batch.failed", "batch.expired", "batch.cancelled",
]  # fmt: skip
EVENT_TYPES: tuple[EventType, ...] = get_args(EventType)
# Pauses before each retry (seconds): a receiver down for about half a day still gets
# every event; after the last, the delivery is marked failed.
BACKOFF_SECONDS = (5, 30, 120, 600, 1800, 3600, 3 * 3600, 6 * 3600)
# How long a courier holds a delivery it is sending before another may take it.
SENDING_LEASE = timedelta(seconds=90)
SECRET_PREFIX = "whsec_"


def new_secret() -> str:
    """A signing secret as the SDK reads it: ``whsec_`` + base64 of 32 random bytes."""
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(32)).decode()


def secret_hint(secret: str) -> str:
    """Enough of a secret to tell two apart in a listing, never enough to sign."""
    return f"{SECRET_PREFIX}…{secret[-4:]}"


def signature(secret: str, event_id: str, timestamp: int, body: bytes) -> str:
    key = base64.b64decode(secret.removeprefix(SECRET_PREFIX))
    signed = f"{event_id}.{timestamp}.".encode() + body
    return "v1," + base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()


def live_secrets(endpoint: WebhookEndpoint, now: datetime) -> list[str]:
    """The endpoint's secret, and the one it replaced while that is kept alive."""
    kept = endpoint.old_secret_expires_at is not None and endpoint.old_secret_expires_at > now
    return [endpoint.secret, *([endpoint.old_secret] if kept and endpoint.old_secret else [])]


def signed_headers(
    endpoint: WebhookEndpoint, event_id: str, body: bytes, now: datetime
) -> dict[str, str]:
    timestamp = int(now.timestamp())
    signatures = [signature(s, event_id, timestamp, body) for s in live_secrets(endpoint, now)]
    return {
        "content-type": "application/json",
        "user-agent": "cinegen-webhooks",
        "webhook-id": event_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": " ".join(signatures),
    }


def event_body(event_id: str, event_type: str, object_id: str, at: datetime) -> str:
    event = {
        "id": event_id,
        "object": "event",
        "created_at": int(at.timestamp()),
        "type": event_type,
        "data": {"id": object_id},
    }
    return json.dumps(event, separators=(",", ":"))


def emit(session: Session, account_id: str, event_type: EventType, object_id: str) -> None:
    """Queue ``event_type`` about ``object_id`` for each of the account's endpoints that
    subscribed to it, in the caller's transaction (the caller commits)."""
    endpoints = session.scalars(
        select(WebhookEndpoint).where(WebhookEndpoint.account_id == account_id)
    ).all()
    subscribed = [e for e in endpoints if event_type in e.event_types]
    if not subscribed:
        return
    now = utcnow()
    event_id = new_id("evt")
    body = event_body(event_id, event_type, object_id, now)
    for endpoint in subscribed:
        session.add(
            WebhookDelivery(
                id=new_id("whd"),
                endpoint_id=endpoint.id,
                event_id=event_id,
                type=event_type,
                body=body,
                state=DeliveryState.pending,
                attempts=0,
                next_attempt_at=now,
                created_at=now,
            )
        )


# --- sending -------------------------------------------------------------------------------
Send = Callable[[str, bytes, Mapping[str, str], float], int]


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    # Trap: urllib follows a redirect by default, which would carry the event to a URL the
    # operator never approved. A redirect is the receiver's answer: a failed attempt.
    def redirect_request(self, *args: object, **kwargs: object) -> None:
        return None


_OPENER = urllib.request.build_opener(_NoRedirects)


def post(url: str, body: bytes, headers: Mapping[str, str], timeout: float) -> int:
    """POST ``body`` to ``url``; the receiver's status code (an HTTP error's too). A
    network failure raises ``OSError``."""
    request = urllib.request.Request(url, data=body, headers=dict(headers), method="POST")
    try:
        with _OPENER.open(request, timeout=timeout) as response:
            return int(response.status)
    except urllib.error.HTTPError as error:
        return int(error.code)


@dataclass
class Courier:
    """Sends the outbox's due deliveries (``deliver_due``; the API process calls it every
    second, ``api.app``). Any number of couriers (API processes) may share one database:
    each takes a delivery by moving its ``next_attempt_at`` forward first, so only one sends
    it at a time."""

    sessions: sessionmaker[Session]
    timeout: float = 10.0
    send: Send = post
    batch: int = 20
    # The deployment's URL prefixes (``Settings.webhook_urls``): an endpoint no longer under
    # one of them or of its account's approvals is sent nothing more.
    prefixes: Sequence[str] = ()

    def deliver_due(self) -> int:
        """Send what is due now; how many deliveries were attempted."""
        with self.sessions() as session:
            now = utcnow()
            due = session.execute(
                select(WebhookDelivery.id, WebhookDelivery.next_attempt_at)
                .where(
                    WebhookDelivery.state == DeliveryState.pending,
                    WebhookDelivery.next_attempt_at <= now,
                )
                .order_by(WebhookDelivery.next_attempt_at)
                .limit(self.batch)
            ).all()
            sent = 0
            for delivery_id, due_at in due:
                if self._take(session, delivery_id, due_at, now):
                    self._attempt(session, delivery_id)
                    sent += 1
            return sent

    def _take(self, session: Session, delivery_id: str, due_at: datetime, now: datetime) -> bool:
        taken = session.execute(
            update(WebhookDelivery)
            .where(WebhookDelivery.id == delivery_id, WebhookDelivery.next_attempt_at == due_at)
            .values(next_attempt_at=now + SENDING_LEASE)
            .execution_options(synchronize_session=False)
        )
        session.commit()
        return bool(taken.rowcount)  # type: ignore[attr-defined]

    def _attempt(self, session: Session, delivery_id: str) -> None:
        delivery = session.get(WebhookDelivery, delivery_id, populate_existing=True)
        assert delivery is not None
        endpoint = session.get(WebhookEndpoint, delivery.endpoint_id)
        if endpoint is None:  # deleted since: its deliveries went with it
            return
        allowed = webhook_urls.prefixes(session, endpoint.account_id, self.prefixes)
        if not webhook_prefixes.covered(endpoint.url, allowed):
            delivery.state = DeliveryState.failed
            delivery.last_error = "its URL is no longer under a prefix the operator approved"
            log.warning("webhook %s to %s not sent: %s", delivery.id, endpoint.url,
                        delivery.last_error)  # fmt: skip
            session.commit()
            return
        now = utcnow()
        body = delivery.body.encode()
        headers = signed_headers(endpoint, delivery.event_id, body, now)
        status: int | None = None
        try:
            status = self.send(endpoint.url, body, headers, self.timeout)
            error = None if 200 <= status < 300 else f"the receiver answered {status}"
        except OSError as failure:
            error = f"could not reach the receiver: {failure}"
        delivery.attempts += 1
        delivery.status_code = status
        delivery.last_error = error
        if error is None:
            delivery.state, delivery.delivered_at = DeliveryState.delivered, now
        elif delivery.attempts > len(BACKOFF_SECONDS):
            delivery.state = DeliveryState.failed
            log.warning("webhook %s to %s failed for good: %s", delivery.id, endpoint.url, error)
        else:
            pause = BACKOFF_SECONDS[delivery.attempts - 1]
            delivery.next_attempt_at = now + timedelta(seconds=pause)
        session.commit()
