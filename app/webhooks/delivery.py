"""Delivery attempts, and what follows them.

``attempt_many`` (a batch: one signal's messages to every endpoint) and
``attempt`` (one message: a retry, a test event) claim their messages with one
UPDATE that only one worker can win per message (a task redelivered by the
broker or re-sent by the sweeper never sends twice at once), re-check each URL
(DNS may have changed since the endpoint was created), sign with a fresh
timestamp and the same ``webhook-id``, POST (in parallel threads within a
batch: HTTP only, no session there) and record every attempt in one commit.
A 2xx marks the message delivered; anything else schedules the next attempt
with exponential backoff and jitter until WEBHOOK_RETRY_FOR_SECONDS after the
message was created. An endpoint whose attempts have all failed for
WEBHOOK_DISABLE_AFTER_SECONDS, with at least WEBHOOK_DISABLE_MIN_ATTEMPTS of
them, is disabled until its owner re-enables it.

``sweep`` is the safety net (beat): a pending message whose task was lost
(killed worker, broker restart, a failed publish) is published again.
"""

from __future__ import annotations

import logging
import random
import time
from collections import Counter
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta
from typing import Any

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

# One POST to make: the message, its endpoint, the checked target (None: refused), headers, body.
Job = tuple[WebhookMessage, WebhookEndpoint, ssrf.Target | None, dict[str, str], bytes]


def backoff_seconds(attempts: int, config: Mapping[str, Any]) -> float:
    """Delay before the attempt after ``attempts`` failed ones: base * 2^(n-1),
    capped, times a jitter in [0.5, 1] so failed receivers are not hit in lockstep."""
    base = float(config["WEBHOOK_RETRY_BASE_SECONDS"])
    cap = float(config["WEBHOOK_RETRY_MAX_DELAY_SECONDS"])
    delay = min(cap, base * (2 ** min(max(attempts - 1, 0), 30)))
    return delay * random.uniform(0.5, 1.0)


def lease_seconds(config: Mapping[str, Any]) -> float:
    return float(config["WEBHOOK_TIMEOUT_SECONDS"]) + float(config["WEBHOOK_LEASE_MARGIN_SECONDS"])


def _claim(message_ids: list[int], now: datetime, lease: float) -> list[int]:
    """The ids of ``message_ids`` this worker now holds a lease on (one UPDATE:
    a message another worker holds, or one not due, is not returned)."""
    claimed = db.session.execute(
        update(WebhookMessage)
        .where(
            WebhookMessage.id.in_(message_ids),
            WebhookMessage.status == PENDING,
            WebhookMessage.next_attempt_at <= now + timedelta(seconds=EARLY_TOLERANCE_SECONDS),
            or_(WebhookMessage.leased_until.is_(None), WebhookMessage.leased_until < now),
        )
        .values(leased_until=now + timedelta(seconds=lease))
        .returning(WebhookMessage.id)
        .execution_options(synchronize_session=False)
    ).scalars()
    ids = list(claimed)
    db.session.commit()
    return ids


def _signing_secrets(endpoint: WebhookEndpoint, now: datetime) -> list[str]:
    secrets = [endpoint.secret]
    if endpoint.previous_secret and endpoint.previous_secret_until and endpoint.previous_secret_until > now:
        secrets.append(endpoint.previous_secret)
    return secrets


def attempt(message_id: int) -> str:
    """Try to deliver one message now. Returns what happened (for logs and tests)."""
    return attempt_many([message_id]).get(message_id, "not_due")


def attempt_many(message_ids: list[int]) -> dict[int, str]:
    """One attempt at each of these messages (a fan-out's messages of one signal):
    one claim, one read, the POSTs in parallel, one commit. Returns id -> outcome;
    ids not claimed (delivered, given up, not due, held by another worker) are absent."""
    config = current_app.config
    now = utcnow()
    claimed = _claim(list(message_ids), now, lease_seconds(config))
    if not claimed:
        return {}
    rows = db.session.execute(
        select(WebhookMessage, WebhookEndpoint)
        .join(WebhookEndpoint, WebhookEndpoint.id == WebhookMessage.endpoint_id)
        .where(WebhookMessage.id.in_(claimed))
        .order_by(WebhookMessage.id)
    ).all()
    results: dict[int, str] = {}
    jobs: list[Job] = []
    targets: dict[str, ssrf.Target | None] = {}  # one DNS check per URL per batch
    for message, endpoint in rows:
        # A test event goes out even to a disabled endpoint (its owner is checking it).
        if not endpoint.is_active and message.event_type != EVENT_TEST:
            message.status, message.finished_at, message.leased_until = FAILED, now, None
            results[message.id] = "endpoint_inactive"
            continue
        if endpoint.url not in targets:
            try:
                targets[endpoint.url] = ssrf.check_from_config(endpoint.url, config)
            except ssrf.Refused:
                targets[endpoint.url] = None
        body = message.payload.encode()
        headers = signing.headers(_signing_secrets(endpoint, now), message.msg_id, int(time.time()), body)
        jobs.append((message, endpoint, targets[endpoint.url], headers, body))
    outcomes = _send_all(jobs, float(config["WEBHOOK_TIMEOUT_SECONDS"]), int(config["WEBHOOK_SEND_THREADS"]))

    retries: list[tuple[int, float]] = []
    pushed: Counter[int] = Counter()
    for (message, endpoint, *_), outcome in zip(jobs, outcomes, strict=True):
        result, delay = _record(message, endpoint, outcome, now)
        results[message.id] = result
        if result == "delivered" and message.event_type == EVENT_SIGNAL_CREATED:
            pushed[endpoint.user_id] += 1
        if delay is not None:
            retries.append((message.id, delay))
    db.session.commit()
    for user_id, count in pushed.items():
        analytics.count_pushed(user_id, count)
    for message_id, delay in retries:
        queue.deliver_soon([message_id], countdown=delay)
    return results


def _send_all(jobs: list[Job], timeout: float, threads: int) -> list[sender.Outcome]:
    def send(job: Job) -> sender.Outcome:
        _message, _endpoint, target, headers, body = job
        if target is None:
            return sender.Outcome(None, "address_refused", 0)
        return sender.post(target, headers, body, timeout)

    if len(jobs) <= 1 or threads <= 1:
        return [send(job) for job in jobs]
    # HTTP only in these threads: no session, no app context needed.
    with ThreadPoolExecutor(max_workers=min(threads, len(jobs)), thread_name_prefix="webhook-send") as pool:
        return list(pool.map(send, jobs))


def _record(
    message: WebhookMessage, endpoint: WebhookEndpoint, outcome: sender.Outcome, now: datetime
) -> tuple[str, float | None]:
    """Add the attempt to the session; returns (result, retry delay or None). No commit."""
    config = current_app.config
    message.attempts += 1
    db.session.add(
        WebhookDelivery(
            endpoint_id=endpoint.id,
            message_id=message.id,
            attempt=message.attempts,
            status_code=outcome.status_code,
            error=outcome.error or (None if outcome.ok else "non_2xx"),
            duration_ms=outcome.duration_ms,
            at=utcnow(),
        )
    )
    message.leased_until = None
    if outcome.ok:
        message.status = DELIVERED
        message.finished_at = now
        if endpoint.failure_count:  # only a streak to end costs a write
            db.session.execute(
                update(WebhookEndpoint)
                .where(WebhookEndpoint.id == endpoint.id)
                .values(failure_count=0, failing_since=None)
                .execution_options(synchronize_session=False)
            )
        return "delivered", None

    delay = backoff_seconds(message.attempts, config)
    expires = message.created_at + timedelta(seconds=float(config["WEBHOOK_RETRY_FOR_SECONDS"]))
    _count_failure(endpoint.id, now)
    if now + timedelta(seconds=delay) < expires:
        message.next_attempt_at = now + timedelta(seconds=delay)
        return "retry", delay
    message.status = FAILED
    message.finished_at = now
    return "failed", None


def _count_failure(endpoint_id: int, now: datetime) -> None:
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
    queue.deliver_batches(ids)
    return len(ids)
