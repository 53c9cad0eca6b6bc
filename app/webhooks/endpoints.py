"""Webhook endpoints: create, list, read, update, delete, rotate, test (the service
behind app/webhooks/views.py). Every lookup is scoped to its owner: another
user's endpoint does not exist (404)."""

from __future__ import annotations

import json
from datetime import timedelta

from flask import current_app
from sqlalchemy import func, select

from app.accounts.models import User
from app.accounts.tiers import TIERS
from app.accounts.user_cache import CurrentUser
from app.core.sqlbase import utcnow
from app.extensions import db
from app.webhooks import queue, signing, ssrf
from app.webhooks.models import WebhookDelivery, WebhookEndpoint, WebhookMessage
from httpkit.errors import APIError

EVENT_SIGNAL_CREATED = "signal.created"
EVENT_TEST = "webhook.test"
SUBSCRIBABLE_EVENTS = (EVENT_SIGNAL_CREATED,)
DELIVERY_LOG_LIMIT = 100


def require_push_tier(user: CurrentUser) -> None:
    """Push is a pro/elite feature: the same tiers that see premium signals."""
    tier = TIERS.get(user.tier)
    if tier is None or not tier.premium:
        raise APIError(
            403,
            "tier_required",
            "Webhooks need the pro or elite tier.",
            {"tier": user.tier, "required": [t.name for t in TIERS.values() if t.premium]},
        )


def check_url(url: str) -> None:
    try:
        ssrf.check_from_config(url, current_app.config)
    except ssrf.Refused as exc:
        raise APIError(
            422, "validation_error", "The webhook URL is not allowed.", {"json": {"url": [str(exc)]}}
        ) from None


def public(endpoint: WebhookEndpoint, *, with_secret: bool = False) -> dict:
    data = {
        "id": endpoint.id,
        "url": endpoint.url,
        "events": list(endpoint.events),
        "symbols": list(endpoint.symbols) if endpoint.symbols is not None else None,
        "min_confidence": endpoint.min_confidence,
        "is_active": endpoint.is_active,
        "disabled_reason": endpoint.disabled_reason,
        "created_at": endpoint.created_at.isoformat(),
    }
    if with_secret:
        data["secret"] = endpoint.secret
    return data


def get_owned(user_id: int, endpoint_id: int, *, for_update: bool = False) -> WebhookEndpoint:
    query = select(WebhookEndpoint).where(
        WebhookEndpoint.id == endpoint_id, WebhookEndpoint.user_id == user_id
    )
    if for_update:
        query = query.with_for_update()
    endpoint = db.session.execute(query).scalar_one_or_none()
    if endpoint is None:
        raise APIError(404, "not_found", "No such webhook endpoint.")
    return endpoint


def list_for(user_id: int) -> list[WebhookEndpoint]:
    return list(
        db.session.execute(
            select(WebhookEndpoint).where(WebhookEndpoint.user_id == user_id).order_by(WebhookEndpoint.id)
        ).scalars()
    )


def create(user_id: int, body: dict) -> WebhookEndpoint:
    check_url(body["url"])
    limit = current_app.config["WEBHOOK_MAX_ENDPOINTS_PER_USER"]
    # Lock the owner's row: concurrent creates by one user queue here, so the
    # count below cannot be raced past the limit (SQLite serialises writers anyway).
    db.session.execute(select(User.id).where(User.id == user_id).with_for_update())
    count = db.session.execute(
        select(func.count()).select_from(WebhookEndpoint).where(WebhookEndpoint.user_id == user_id)
    ).scalar_one()
    if count >= limit:
        db.session.rollback()
        raise APIError(409, "limit_reached", f"At most {limit} webhook endpoints per user.", {"limit": limit})
    endpoint = WebhookEndpoint(
        user_id=user_id,
        url=body["url"],
        events=body["events"],
        symbols=body.get("symbols"),
        min_confidence=body.get("min_confidence"),
        secret=signing.new_secret(),
        is_active=True,
        failure_count=0,
    )
    db.session.add(endpoint)
    db.session.commit()
    return endpoint


def update(user_id: int, endpoint_id: int, body: dict) -> WebhookEndpoint:
    if "url" in body:
        check_url(body["url"])
    endpoint = get_owned(user_id, endpoint_id, for_update=True)
    for name in ("url", "events", "symbols", "min_confidence"):
        if name in body:
            setattr(endpoint, name, body[name])
    if "is_active" in body:
        if body["is_active"] and not endpoint.is_active:
            # Re-enabled by its owner: a fresh start for the failing streak.
            endpoint.failure_count = 0
            endpoint.failing_since = None
            endpoint.disabled_reason = None
        elif not body["is_active"] and endpoint.is_active:
            endpoint.disabled_reason = "disabled_by_owner"
        endpoint.is_active = body["is_active"]
    db.session.commit()
    return endpoint


def delete(user_id: int, endpoint_id: int) -> None:
    endpoint = get_owned(user_id, endpoint_id, for_update=True)
    db.session.delete(endpoint)  # messages and attempts go with it (ON DELETE CASCADE)
    db.session.commit()


def rotate_secret(user_id: int, endpoint_id: int) -> WebhookEndpoint:
    endpoint = get_owned(user_id, endpoint_id, for_update=True)
    endpoint.previous_secret = endpoint.secret
    endpoint.previous_secret_until = utcnow() + timedelta(
        seconds=current_app.config["WEBHOOK_SECRET_OVERLAP_SECONDS"]
    )
    endpoint.secret = signing.new_secret()
    db.session.commit()
    return endpoint


def send_test(user_id: int, endpoint_id: int) -> str:
    """Queue a ``webhook.test`` message; returns its ``webhook-id``."""
    endpoint = get_owned(user_id, endpoint_id)
    msg_id = signing.new_message_id()
    now = utcnow()
    body = {
        "type": EVENT_TEST,
        "timestamp": now.isoformat().replace("+00:00", "Z"),
        "data": {"endpoint_id": endpoint.id},
    }
    message = WebhookMessage(
        endpoint_id=endpoint.id,
        msg_id=msg_id,
        event_key=msg_id,
        event_type=EVENT_TEST,
        payload=json.dumps(body, separators=(",", ":")),
        next_attempt_at=now,
        attempts=0,
    )
    db.session.add(message)
    db.session.commit()
    queue.deliver_soon([message.id])
    return msg_id


def deliveries(user_id: int, endpoint_id: int, limit: int = DELIVERY_LOG_LIMIT) -> list[dict]:
    get_owned(user_id, endpoint_id)
    rows = db.session.execute(
        select(WebhookDelivery, WebhookMessage.msg_id, WebhookMessage.event_type)
        .join(WebhookMessage, WebhookMessage.id == WebhookDelivery.message_id)
        .where(WebhookDelivery.endpoint_id == endpoint_id)
        .order_by(WebhookDelivery.id.desc())
        .limit(limit)
    ).all()
    return [
        {
            "id": d.id,
            "message_id": msg_id,
            "event": event,
            "attempt": d.attempt,
            "status_code": d.status_code,
            "error": d.error,
            "duration_ms": d.duration_ms,
            "at": d.at.isoformat(),
        }
        for d, msg_id, event in rows
    ]
