"""One delivery attempt of one message, and what follows it.

``attempt`` claims the message (an UPDATE that only one worker can win, so a
task redelivered by the broker or re-sent by the sweeper never sends twice at
once), re-checks the URL (DNS may have changed since the endpoint was
created), signs with a fresh timestamp and the same ``webhook-id``, POSTs,
and records the attempt. A 2xx marks the message delivered; anything else
schedules the next attempt with exponential backoff and jitter until
WEBHOOK_RETRY_FOR_SECONDS after the message was created. An endpoint whose
attempts have all failed for WEBHOOK_DISABLE_AFTER_SECONDS, with at least
WEBHOOK_DISABLE_MIN_ATTEMPTS of them, is disabled until its owner re-enables it.

``sweep`` is the safety net (beat): a pending message whose task was lost
(killed worker, broker restart, a failed publish) is published again.
"""

from __future__ import annotations

import logging
import random
import time
from datetime import timedelta

from flask import current_app
from sqlalchemy import and_, or_, select, update

from app.core.database import rows_affected
from app.core.sqlbase import utcnow
from app.extensions import db
from app.webhooks import analytics, queue, sender, signing, ssrf
from app.webhooks.endpoints import EVENT_SIGNAL_CREATED, EVENT_TEST
from app.webhooks.models import DELIVERED, FAILED, PENDING, WebhookDelivery, WebhookEndpoint, WebhookMessage

log = logging.getLogger(__name__)

EARLY_TOLERANCE_SECONDS = 1.0  # a countdown task may fire a little early
SWEEP_BATCH = 500


def backoff_seconds(attempts: int, config) -> float:
    """Delay before the attempt after ``attempts`` failed ones: base * 2^(n-1),
    capped, times a jitter in [0.5, 1] so failed receivers are not hit in lockstep."""
    base = float(config["WEBHOOK_RETRY_BASE_SECONDS"])
    cap = float(config["WEBHOOK_RETRY_MAX_DELAY_SECONDS"])
    delay = min(cap, base * (2 ** min(max(attempts - 1, 0), 30)))
    return delay * random.uniform(0.5, 1.0)


def lease_seconds(config) -> float:
    return float(config["WEBHOOK_TIMEOUT_SECONDS"]) + float(config["WEBHOOK_LEASE_MARGIN_SECONDS"])


def _claim(message_id: int, now, lease_seconds: float) -> bool:
    result = db.session.execute(
        update(WebhookMessage)
        .where(
            WebhookMessage.id == message_id,
            WebhookMessage.status == PENDING,
            WebhookMessage.next_attempt_at <= now + timedelta(seconds=EARLY_TOLERANCE_SECONDS),
            or_(WebhookMessage.leased_until.is_(None), WebhookMessage.leased_until < now),
        )
        .values(leased_until=now + timedelta(seconds=lease_seconds))
        .execution_options(synchronize_session=False)
    )
    db.session.commit()
    return rows_affected(result) == 1


def _signing_secrets(endpoint: WebhookEndpoint, now) -> list[str]:
    secrets = [endpoint.secret]
    if endpoint.previous_secret and endpoint.previous_secret_until and endpoint.previous_secret_until > now:
        secrets.append(endpoint.previous_secret)
    return secrets


def _give_up(message: WebhookMessage, reason: str) -> str:
    message.status = FAILED
    message.finished_at = utcnow()
    message.leased_until = None
    db.session.commit()
    log.info("webhooks: message %s given up (%s)", message.msg_id, reason)
    return reason


def attempt(message_id: int) -> str:
    """Try to deliver one message now. Returns what happened (for logs and tests)."""
    config = current_app.config
    now = utcnow()
    if not _claim(message_id, now, lease_seconds(config)):
        return "not_due"  # delivered, given up, not due yet, or another worker has it
    message = db.session.get(WebhookMessage, message_id)
    endpoint = db.session.get(WebhookEndpoint, message.endpoint_id) if message else None
    if message is None or endpoint is None:
        return "gone"
    # A test event goes out even to a disabled endpoint (its owner is checking it).
    if not endpoint.is_active and message.event_type != EVENT_TEST:
        return _give_up(message, "endpoint_inactive")

    body = message.payload.encode()
    try:
        target = ssrf.check_from_config(endpoint.url, config)
    except ssrf.Refused:
        outcome = sender.Outcome(None, "address_refused", 0)
    else:
        headers = signing.headers(_signing_secrets(endpoint, now), message.msg_id, int(time.time()), body)
        outcome = sender.post(target, headers, body, float(config["WEBHOOK_TIMEOUT_SECONDS"]))
    return _record(message, endpoint, outcome)


def _record(message: WebhookMessage, endpoint: WebhookEndpoint, outcome: sender.Outcome) -> str:
    config = current_app.config
    now = utcnow()
    message.attempts += 1
    db.session.add(
        WebhookDelivery(
            endpoint_id=endpoint.id,
            message_id=message.id,
            attempt=message.attempts,
            status_code=outcome.status_code,
            error=outcome.error or (None if outcome.ok else "non_2xx"),
            duration_ms=outcome.duration_ms,
            at=now,
        )
    )
    message.leased_until = None
    if outcome.ok:
        message.status = DELIVERED
        message.finished_at = now
        db.session.execute(
            update(WebhookEndpoint)
            .where(WebhookEndpoint.id == endpoint.id, WebhookEndpoint.failure_count > 0)
            .values(failure_count=0, failing_since=None)
            .execution_options(synchronize_session=False)
        )
        db.session.commit()
        if message.event_type == EVENT_SIGNAL_CREATED:
            analytics.count_pushed(endpoint.user_id)
        return "delivered"

    delay = backoff_seconds(message.attempts, config)
    expires = message.created_at + timedelta(seconds=float(config["WEBHOOK_RETRY_FOR_SECONDS"]))
    retry = now + timedelta(seconds=delay) < expires
    if retry:
        message.next_attempt_at = now + timedelta(seconds=delay)
    else:
        message.status = FAILED
        message.finished_at = now
    _count_failure(endpoint.id, now)
    db.session.commit()
    if retry:
        queue.deliver_soon([message.id], countdown=delay)
        return "retry"
    return "failed"


def _count_failure(endpoint_id: int, now) -> None:
    """One more failed attempt in the endpoint's streak; disable it when the streak
    is both old and long enough. Atomic UPDATEs: concurrent attempts may race."""
    config = current_app.config
    db.session.execute(
        update(WebhookEndpoint)
        .where(WebhookEndpoint.id == endpoint_id)
        .values(
            failure_count=WebhookEndpoint.failure_count + 1,
            failing_since=db.func.coalesce(WebhookEndpoint.failing_since, now),
        )
        .execution_options(synchronize_session=False)
    )
    cutoff = now - timedelta(seconds=float(config["WEBHOOK_DISABLE_AFTER_SECONDS"]))
    disabled = db.session.execute(
        update(WebhookEndpoint)
        .where(
            WebhookEndpoint.id == endpoint_id,
            WebhookEndpoint.is_active,
            WebhookEndpoint.failing_since <= cutoff,
            WebhookEndpoint.failure_count >= int(config["WEBHOOK_DISABLE_MIN_ATTEMPTS"]),
        )
        .values(is_active=False, disabled_reason="failing")
        .execution_options(synchronize_session=False)
    )
    if rows_affected(disabled):
        log.warning("webhooks: endpoint %s disabled after failing attempts", endpoint_id)


def sweep() -> int:
    """Publish again every pending message overdue by WEBHOOK_SWEEP_GRACE_SECONDS and not
    claimed: their task was lost. Duplicates are harmless (the claim decides)."""
    now = utcnow()
    overdue = now - timedelta(seconds=float(current_app.config["WEBHOOK_SWEEP_GRACE_SECONDS"]))
    ids = list(
        db.session.execute(
            select(WebhookMessage.id)
            .where(
                and_(
                    WebhookMessage.status == PENDING,
                    WebhookMessage.next_attempt_at <= overdue,
                    or_(WebhookMessage.leased_until.is_(None), WebhookMessage.leased_until < now),
                )
            )
            .order_by(WebhookMessage.next_attempt_at)
            .limit(SWEEP_BATCH)
        ).scalars()
    )
    db.session.commit()
    queue.deliver_soon(ids)
    return len(ids)
