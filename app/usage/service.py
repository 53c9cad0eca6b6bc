"""A user's usage report: today's quota (live counter) and a per-day history.

``feed_requests`` of past days come from ``feed_usage_daily`` (app/usage/snapshot.py),
today's from the live quota counter; ``signals_delivered`` from the metrics
rollup's ``signal_deliveries_daily``. Every day of the range is listed, newest
first, zeros included.
"""

from __future__ import annotations

import importlib
import importlib.util
from datetime import UTC, date, datetime, timedelta

from sqlalchemy import select

from app.core import redis_guard
from app.extensions import db
from app.feed import quotas
from app.metrics.models import SignalDeliveryDaily
from app.usage.models import FeedUsageDaily

# The seam for API keys: a module ``app.keys.usage`` with
#   requests_today(user_id: int, day: date) -> list[{"id", "name", "requests_today"}]
# fills ``keys``; until that module exists the list is empty.
KEYS_USAGE_MODULE = "app.keys.usage"


def live_quota_count(user_id: int, now: datetime) -> int:
    key = quotas.day_key(user_id, now)
    res = redis_guard.run_pipeline(lambda pipe: pipe.get(key))
    if res is None:  # Redis down: the in-process counters count meanwhile
        return redis_guard.guard().counters.get(key)[0]
    return max(0, int(res[0] or 0))


def key_usage(user_id: int, day: date) -> list[dict]:
    if importlib.util.find_spec(KEYS_USAGE_MODULE) is None:
        return []
    return list(importlib.import_module(KEYS_USAGE_MODULE).requests_today(user_id, day))


def report(user_id: int, tier: str, days: int, now: datetime | None = None) -> dict:
    now = now or datetime.now(UTC)
    today = now.date()
    first = today - timedelta(days=days - 1)
    limit = quotas.limit_for(tier)
    used = live_quota_count(user_id, now)

    stored: dict[date, int] = dict(
        db.session.execute(
            select(FeedUsageDaily.day, FeedUsageDaily.requests).where(
                FeedUsageDaily.user_id == user_id, FeedUsageDaily.day.between(first, today)
            )
        )
        .tuples()
        .all()
    )
    delivered: dict[date, int] = dict(
        db.session.execute(
            select(SignalDeliveryDaily.day, SignalDeliveryDaily.delivered).where(
                SignalDeliveryDaily.user_id == user_id, SignalDeliveryDaily.day.between(first, today)
            )
        )
        .tuples()
        .all()
    )
    history = []
    for n in range(days):
        day = today - timedelta(days=n)
        requests = int(stored.get(day, 0))
        if day == today:
            requests = max(requests, used)  # the live counter, unless Redis lost it today
        history.append(
            {
                "date": day.isoformat(),
                "feed_requests": requests,
                "signals_delivered": int(delivered.get(day, 0)),
            }
        )
    midnight = datetime.combine(today + timedelta(days=1), datetime.min.time(), tzinfo=UTC)
    return {
        "quota": {
            "limit": limit,
            "used_today": used,
            "remaining": max(0, limit - used),
            "resets_at": midnight.isoformat(),
        },
        "days": history,
        "keys": key_usage(user_id, today),
    }
