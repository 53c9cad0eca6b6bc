"""Webhook endpoints, the messages owed to them, and every delivery attempt.

A message is one event for one endpoint; its ``msg_id`` is the
``webhook-id`` header, the same on every retry. ``event_key`` (the signal's
sha256 for ``signal.created``) is unique per endpoint, so a fan-out that runs
twice (a redelivered task) creates nothing new. The message row is the source
of truth for what is still owed: a lost Celery task is found again by the
sweeper from ``status = 'pending'`` and ``next_attempt_at``.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, Boolean, Float, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from app.core.sqlbase import UTCDateTime, utcnow
from app.extensions import Model

PENDING, DELIVERED, FAILED = "pending", "delivered", "failed"


class WebhookEndpoint(Model):
    __tablename__ = "webhook_endpoints"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    url: Mapped[str] = mapped_column(String(2048))
    events: Mapped[list] = mapped_column(JSON)
    symbols: Mapped[list | None] = mapped_column(JSON, nullable=True)  # None = every symbol
    min_confidence: Mapped[float | None] = mapped_column(Float, nullable=True)
    # The signing secret ("whsec_..."); it must be readable to sign, so it is
    # kept as is and never logged, cached or returned after creation/rotation.
    secret: Mapped[str] = mapped_column(String(128))
    previous_secret: Mapped[str | None] = mapped_column(String(128), nullable=True)
    previous_secret_until: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    disabled_reason: Mapped[str | None] = mapped_column(String(64), nullable=True)
    # Failing streak: set by the first failed attempt after a success, cleared
    # by any success; the endpoint is disabled when it is old and long enough.
    failing_since: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    failure_count: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)

    def __repr__(self) -> str:  # never the secret
        return f"<WebhookEndpoint {self.id} user={self.user_id} active={self.is_active}>"


class WebhookMessage(Model):
    __tablename__ = "webhook_messages"
    __table_args__ = (
        UniqueConstraint("endpoint_id", "event_key", name="uq_webhook_messages_endpoint_event"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    endpoint_id: Mapped[int] = mapped_column(ForeignKey("webhook_endpoints.id", ondelete="CASCADE"))
    msg_id: Mapped[str] = mapped_column(String(40), unique=True)
    event_key: Mapped[str] = mapped_column(String(64))
    event_type: Mapped[str] = mapped_column(String(32))
    payload: Mapped[str] = mapped_column(Text)  # the exact body sent on every attempt
    status: Mapped[str] = mapped_column(String(16), default=PENDING)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    # A worker's claim on the next attempt; another worker (or the sweeper's
    # copy of the task) skips the message until it passes.
    leased_until: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)


# The sweeper's scan: pending messages that are due.
Index("ix_webhook_messages_status_next", WebhookMessage.status, WebhookMessage.next_attempt_at)


class WebhookDelivery(Model):
    """One HTTP attempt (the delivery log the owner reads)."""

    __tablename__ = "webhook_deliveries"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    endpoint_id: Mapped[int] = mapped_column(ForeignKey("webhook_endpoints.id", ondelete="CASCADE"))
    message_id: Mapped[int] = mapped_column(ForeignKey("webhook_messages.id", ondelete="CASCADE"), index=True)
    attempt: Mapped[int] = mapped_column(Integer)
    status_code: Mapped[int | None] = mapped_column(Integer, nullable=True)
    error: Mapped[str | None] = mapped_column(String(200), nullable=True)
    duration_ms: Mapped[int] = mapped_column(Integer, default=0)
    at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


# The delivery log, newest first, per endpoint.
Index("ix_webhook_deliveries_endpoint_id", WebhookDelivery.endpoint_id, WebhookDelivery.id.desc())
