"""New signals -> one webhook message per matching endpoint (in a Celery task).

``enqueue_new_signals`` is what the ingest path calls with the sha256s its
unique insert reported as new, so exactly one process enqueues each signal
however many saw it. It only publishes a task: the matching and every HTTP
request happen in the worker, never in a web request.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable

from flask import current_app
from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite

from app.accounts.models import User
from app.accounts.tiers import PREMIUM_CONFIDENCE, TIERS
from app.core.sqlbase import utcnow
from app.extensions import db
from app.feed.models import Signal
from app.webhooks import queue, signing
from app.webhooks.endpoints import EVENT_SIGNAL_CREATED
from app.webhooks.models import PENDING, WebhookEndpoint, WebhookMessage

log = logging.getLogger(__name__)

FANOUT_TASK = "webhooks.fanout"


def _any_active_endpoint() -> bool:
    return (
        db.session.execute(select(WebhookEndpoint.id).where(WebhookEndpoint.is_active).limit(1)).first()
        is not None
    )


def enqueue_new_signals(sha256s: Iterable[str]) -> None:
    """Publish one fan-out task for these newly stored signals. Never raises:
    the ingest path that calls it must keep working when the broker does not."""
    sha256s = list(sha256s)
    if not sha256s:
        return
    try:
        # No endpoint at all (most installs, most tests): no broker round trip.
        if not _any_active_endpoint():
            return
        celery = current_app.extensions["celery"]
        celery.send_task(FANOUT_TASK, args=[sha256s], retry=False)
    except Exception:  # noqa: BLE001 - logged; the feed must not fail because of push
        db.session.rollback()
        log.exception("webhooks: could not enqueue the fan-out of %d new signal(s)", len(sha256s))


def _event_time(signal: Signal) -> str:
    from app.feed.signal_ingest import format_timestamp  # it imports this module

    return format_timestamp(signal.created_at or utcnow())


def _matches(endpoint: WebhookEndpoint, signal: Signal, premium_ok: bool) -> bool:
    if EVENT_SIGNAL_CREATED not in (endpoint.events or ()):
        return False
    if signal.confidence >= PREMIUM_CONFIDENCE and not premium_ok:
        return False
    if endpoint.symbols is not None and signal.symbol not in endpoint.symbols:
        return False
    return endpoint.min_confidence is None or signal.confidence >= endpoint.min_confidence


def fan_out(sha256s: list[str]) -> list[int]:
    """One pending message per (new signal, active matching endpoint); returns the
    ids of the messages this call created (a repeated call creates none) and
    publishes their delivery tasks."""
    from app.feed.signal_ingest import row_to_signal  # it imports this module

    signals = list(
        db.session.execute(select(Signal).where(Signal.sha256.in_(sha256s)).order_by(Signal.id)).scalars()
    )
    premium_tiers = [name for name, tier in TIERS.items() if tier.premium]
    endpoints = db.session.execute(
        select(WebhookEndpoint, User.tier)
        .join(User, User.id == WebhookEndpoint.user_id)
        # Push is a pro/elite feature: a downgraded owner's endpoints fall silent.
        .where(WebhookEndpoint.is_active, User.is_active, User.tier.in_(premium_tiers))
    ).all()
    rows = []
    now = utcnow()
    for signal in signals:
        body = None
        for endpoint, tier in endpoints:
            if not _matches(endpoint, signal, TIERS[tier].premium):
                continue
            if body is None:
                body = json.dumps(
                    {
                        "type": EVENT_SIGNAL_CREATED,
                        "timestamp": _event_time(signal),
                        "data": row_to_signal(signal),
                    },
                    separators=(",", ":"),
                )
            rows.append(
                {
                    "endpoint_id": endpoint.id,
                    "msg_id": signing.new_message_id(),
                    "event_key": signal.sha256,
                    "event_type": EVENT_SIGNAL_CREATED,
                    "payload": body,
                    "status": PENDING,
                    "attempts": 0,
                    "next_attempt_at": now,
                    "created_at": now,
                }
            )
    if not rows:
        db.session.commit()
        return []
    dialect = {"postgresql": postgresql, "sqlite": sqlite}[db.session.get_bind().dialect.name]
    statement = (
        dialect.insert(WebhookMessage)
        .values(rows)
        .on_conflict_do_nothing(index_elements=["endpoint_id", "event_key"])
        .returning(WebhookMessage.id, WebhookMessage.event_key)
    )
    created = db.session.execute(statement).all()
    db.session.commit()
    # One delivery task per signal: its messages to every endpoint go out in parallel.
    by_signal: dict[str, list[int]] = {}
    for row in created:
        by_signal.setdefault(row.event_key, []).append(row.id)
    for ids in by_signal.values():
        queue.deliver_batches(ids)
    return [row.id for row in created]
