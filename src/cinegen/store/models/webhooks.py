"""Webhooks: an account's endpoints, and the outbox of deliveries to them."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import JSON, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from cinegen.store.models.base import Base, enum_column, utcnow


class WebhookEndpoint(Base):
    """A URL of an account's that receives events (``jobs/webhooks.py``), under one of the
    prefixes the operator approved (``Settings.webhook_urls``, or the account's
    ``WebhookUrlApproval`` rows). ``secret`` signs each
    delivery; after a rotation that keeps it, ``old_secret`` signs too until it expires."""

    __tablename__ = "webhook_endpoints"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    account_id: Mapped[str] = mapped_column(ForeignKey("accounts.id"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    url: Mapped[str] = mapped_column(String(2000))
    event_types: Mapped[list[str]] = mapped_column(JSON)
    secret: Mapped[str] = mapped_column(String(100))
    old_secret: Mapped[str | None] = mapped_column(String(100), default=None)
    old_secret_expires_at: Mapped[datetime | None] = mapped_column(default=None)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class WebhookUrlApproval(Base):
    """A URL prefix the operator approved for one account's endpoints
    (``cinegen admin webhooks allow``), beside the deployment's own
    (``Settings.webhook_urls``), which every account may use."""

    __tablename__ = "webhook_url_approvals"
    __table_args__ = (UniqueConstraint("account_id", "prefix"),)

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    account_id: Mapped[str] = mapped_column(ForeignKey("accounts.id"), index=True)
    prefix: Mapped[str] = mapped_column(String(2000))
    approved_by: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class DeliveryState(StrEnum):
    pending = "pending"  # due at next_attempt_at
    delivered = "delivered"  # the receiver answered 2xx
    failed = "failed"  # every attempt failed; kept for the operator to read


class WebhookDelivery(Base):
    """One event on its way to one endpoint: the outbox. Written in the commit that made
    the event happen, so none is lost and none reports a change that was rolled back; the
    API process sends what is due (``jobs.webhooks.Courier``), never a worker."""

    __tablename__ = "webhook_deliveries"
    __table_args__ = (Index("ix_webhook_deliveries_due", "state", "next_attempt_at"),)

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    endpoint_id: Mapped[str] = mapped_column(
        ForeignKey("webhook_endpoints.id", ondelete="CASCADE"), index=True
    )
    event_id: Mapped[str] = mapped_column(String(40))  # the webhook-id header: one per event
    type: Mapped[str] = mapped_column(String(64))
    body: Mapped[str] = mapped_column(Text)  # the JSON sent, byte for byte what is signed
    state: Mapped[DeliveryState] = mapped_column(enum_column(DeliveryState))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(default=utcnow)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    delivered_at: Mapped[datetime | None] = mapped_column(default=None)
    status_code: Mapped[int | None] = mapped_column(Integer, default=None)
    last_error: Mapped[str | None] = mapped_column(Text, default=None)
