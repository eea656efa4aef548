"""The bus's tables: the outbox of platform events, webhook subscriptions, deliveries, attempts.

A delivery is one event going to one subscription; it lives through `pending` (waiting for its
first attempt or a redelivery), `failed` (an attempt failed, a retry is scheduled), `delivered`
and `dead` (not retried any more). Each HTTP attempt is its own row, so a merchant sees every try.
An event older than `retention_days` whose deliveries are all settled is purged with them and
their attempts (`tasks.py`).
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    false,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB, UUID
from sqlalchemy.orm import Mapped, mapped_column

from bettercallsold.db.base import Base
from bettercallsold.db.columns import CreatedAt, TenantForeignKey, UpdatedAt, UUIDPrimaryKey

SUBSCRIPTION_STATUSES = ("active", "paused")
DELIVERY_STATUSES = ("pending", "delivered", "failed", "dead")


class PlatformEvent(Base):
    __tablename__ = "platform_events"
    __table_args__ = (
        Index("ix_platform_events_tenant_occurred", "tenant_id", "occurred_at"),
        # The retention purge's walk, oldest first across every tenant (`tasks.py`).
        Index("ix_platform_events_occurred", "occurred_at"),
        # One event per flow action: a repeated keyed write is refused here (`outbox.py`).
        Index(
            "uq_platform_events_tenant_action_key",
            "tenant_id",
            "action_key",
            unique=True,
            postgresql_where=text("action_key IS NOT NULL"),
        ),
    )

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    tenant_id: Mapped[TenantForeignKey]
    event_type: Mapped[str] = mapped_column(String(64))
    payload: Mapped[dict[str, Any]] = mapped_column(JSONB)
    causation_execution_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    causation_depth: Mapped[int] = mapped_column(Integer, default=0)
    causation_root_event_id: Mapped[str | None] = mapped_column(String(40))
    """The outside event at the root of the causation tree (null: this event is a root)."""
    action_key: Mapped[str | None] = mapped_column(String(64))
    """The event receiver's key of the flow action that made this write (`TenantContext`)."""
    occurred_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), nullable=False
    )


class WebhookSubscription(Base):
    """A URL that receives events. `tenant_id` NULL is an operator subscription: it receives
    every tenant's events and is never visible through the tenant API; `system_key` names it
    so that process start-up can upsert it (the automation plugin's is `automation-plugin`)."""

    __tablename__ = "webhook_subscriptions"
    __table_args__ = (
        # Listing a tenant's subscriptions, and the fan-out's `tenant_id = ? OR IS NULL` lookup.
        Index("ix_webhook_subscriptions_tenant_created", "tenant_id", "created_at", "id"),
        UniqueConstraint("system_key"),
        CheckConstraint("status IN ('active', 'paused')", name="status"),
        CheckConstraint("system_key IS NULL OR tenant_id IS NULL", name="system_is_operator"),
    )

    id: Mapped[UUIDPrimaryKey]
    tenant_id: Mapped[uuid.UUID | None] = mapped_column(
        UUID(as_uuid=True), ForeignKey("tenants.id", ondelete="CASCADE")
    )
    system_key: Mapped[str | None] = mapped_column(String(64))
    url: Mapped[str] = mapped_column(String(2048))
    event_types: Mapped[list[str]] = mapped_column(ARRAY(String(64)))
    # Kept in clear: HMAC signing needs the key itself (as Svix and Stripe keep theirs).
    secret: Mapped[str] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(16), default="active")
    description: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[CreatedAt]
    updated_at: Mapped[UpdatedAt]
    by_interest: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    """An operator subscription that gets a tenant's event only when its subscriber declared an
    interest in that tenant's event type (`SubscriberInterest`): the automation plugin, which
    wants the types some active flow of the tenant uses, not every event of every tenant."""


class SubscriberInterest(Base):
    """One tenant's event type that an operator subscriber wants (`by_interest`). Kept exact by
    the subscriber in the transactions that change what it wants (`interests.py`)."""

    __tablename__ = "webhook_subscriber_interests"

    system_key: Mapped[str] = mapped_column(String(64), primary_key=True)
    tenant_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("tenants.id", ondelete="CASCADE"), primary_key=True
    )
    event_type: Mapped[str] = mapped_column(String(64), primary_key=True)


class WebhookDelivery(Base):
    """One event for one subscription; its id is the `webhook-id` header, stable across retries.

    `version` grows each time a delivery job is deferred for it: a job whose version is not the
    row's any more (superseded by a retry or a redelivery) does nothing. `cycle_attempts` counts
    the attempts since creation or the last redelivery (it drives the retry policy), while
    `attempt_count` counts them all.
    """

    __tablename__ = "webhook_deliveries"
    __table_args__ = (
        Index("ix_webhook_deliveries_tenant_created", "tenant_id", "created_at", "id"),
        # Listing by status, and the fairness backlog count (`status = 'pending'`).
        Index("ix_webhook_deliveries_tenant_status", "tenant_id", "status", "created_at", "id"),
        Index("ix_webhook_deliveries_subscription_created", "subscription_id", "created_at", "id"),
        CheckConstraint("status IN ('pending', 'delivered', 'failed', 'dead')", name="status"),
    )

    id: Mapped[UUIDPrimaryKey]
    tenant_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("tenants.id", ondelete="CASCADE")
    )
    subscription_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("webhook_subscriptions.id", ondelete="CASCADE")
    )
    event_id: Mapped[str] = mapped_column(
        String(40), ForeignKey("platform_events.id", ondelete="CASCADE"), index=True
    )
    event_type: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(16), default="pending")
    attempt_count: Mapped[int] = mapped_column(Integer, default=0)
    cycle_attempts: Mapped[int] = mapped_column(Integer, default=0)
    version: Mapped[int] = mapped_column(Integer, default=1)
    next_attempt_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    last_status_code: Mapped[int | None] = mapped_column(Integer)
    last_error: Mapped[str | None] = mapped_column(Text)
    delivered_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[CreatedAt]
    updated_at: Mapped[UpdatedAt]


class WebhookDeliveryAttempt(Base):
    """One HTTP try. `(delivery_id, number)` is unique, so an attempt is never recorded twice."""

    __tablename__ = "webhook_delivery_attempts"
    __table_args__ = (UniqueConstraint("delivery_id", "number"),)

    id: Mapped[UUIDPrimaryKey]
    delivery_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("webhook_deliveries.id", ondelete="CASCADE")
    )
    number: Mapped[int] = mapped_column(Integer)
    status_code: Mapped[int | None] = mapped_column(Integer)
    duration_ms: Mapped[int] = mapped_column(Integer)
    error: Mapped[str | None] = mapped_column(Text)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)


class PurgedDeliveries(Base):
    """How many settled deliveries were deleted, by the retention purge or with their
    subscription, by final status (`delivered`, `dead`):
    `bcs_deliveries_total` adds them to the rows still there, so the counter never goes down
    when history is purged (Prometheus would read the drop as a restart)."""

    __tablename__ = "webhook_purged_deliveries"

    status: Mapped[str] = mapped_column(String(16), primary_key=True)
    count: Mapped[int] = mapped_column(BigInteger, default=0)
