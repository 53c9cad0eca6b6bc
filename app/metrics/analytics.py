"""Admin analytics and the request time series, from real data.

Periods are UTC and start at midnight: "today" = since 00:00 UTC today; "this
week" = since Monday 00:00 UTC (ISO week); "this month" = since the 1st 00:00
UTC. Users come from ``users`` (``active_users`` = ``is_active``), signals
published from Alpine's ``signals`` by ``created_at``, and signals delivered,
API requests and the error rate from the rolled-up request tables — so they
trail live traffic by the rollup lag (about a minute or two).
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime, time, timedelta

from sqlalchemy import case, func, select

from app.accounts.models import User
from app.accounts.tiers import TIERS
from app.extensions import cache, db
from app.feed.models import Signal
from app.metrics.models import RequestMetricMinute, SignalDeliveryDaily

log = logging.getLogger(__name__)

ANALYTICS_CACHE_KEY = "admin:analytics:v1"
SERVER_ERROR_CLASS = 5
CLIENT_ERROR_CLASS = 4


def period_starts(now: datetime) -> dict[str, datetime]:
    day = datetime.combine(now.astimezone(UTC).date(), time(0), tzinfo=UTC)
    return {"today": day, "this_week": day - timedelta(days=day.weekday()), "this_month": day.replace(day=1)}


def _count_since(column, starts: dict[str, datetime]):
    return [func.coalesce(func.sum(case((column >= start, 1), else_=0)), 0) for start in starts.values()]


def compute(now: datetime | None = None) -> dict:
    now = now or datetime.now(UTC)
    starts = period_starts(now)
    days = {name: start.date() for name, start in starts.items()}
    session = db.session

    total, active, *new = session.execute(
        select(
            func.count(User.id),
            func.coalesce(func.sum(case((User.is_active.is_(True), 1), else_=0)), 0),
            *_count_since(User.created_at, starts),
        )
    ).one()
    by_tier = {tier: 0 for tier in TIERS}
    for tier, n in session.execute(select(User.tier, func.count(User.id)).group_by(User.tier)):
        by_tier[tier] = int(n)

    published = session.execute(
        select(*_count_since(Signal.created_at, starts)).where(Signal.created_at >= min(starts.values()))
    ).one()
    delivered = session.execute(
        select(
            *[
                func.coalesce(
                    func.sum(case((SignalDeliveryDaily.day >= d, SignalDeliveryDaily.delivered), else_=0)), 0
                )
                for d in days.values()
            ]
        ).where(SignalDeliveryDaily.day >= min(days.values()))
    ).one()
    week_start = days["this_week"]
    requests_today, requests_week, errors_today = session.execute(
        select(
            func.coalesce(
                func.sum(
                    case((RequestMetricMinute.day >= days["today"], RequestMetricMinute.requests), else_=0)
                ),
                0,
            ),
            func.coalesce(func.sum(RequestMetricMinute.requests), 0),
            func.coalesce(
                func.sum(
                    case(
                        (
                            (RequestMetricMinute.day >= days["today"])
                            & (RequestMetricMinute.status_class == SERVER_ERROR_CLASS),
                            RequestMetricMinute.requests,
                        ),
                        else_=0,
                    )
                ),
                0,
            ),
        ).where(RequestMetricMinute.day >= week_start)
    ).one()

    result = {
        "total_users": int(total),
        "active_users": int(active),
        "users_by_tier": by_tier,
        "generated_at": now.isoformat(),
    }
    for i, name in enumerate(starts):
        result[f"new_users_{name}"] = int(new[i])
        result[f"signals_published_{name}"] = int(published[i])
        result[f"signals_delivered_{name}"] = int(delivered[i])
    result["api_requests_today"] = int(requests_today)
    result["api_requests_this_week"] = int(requests_week)
    # Percent of today's requests answered 5xx.
    result["error_rate"] = (
        round(100.0 * int(errors_today) / int(requests_today), 2) if requests_today else 0.0
    )
    return result


def cached(timeout: int) -> dict:
    """``compute()`` through Flask-Caching; a cache failure never fails the request."""
    try:
        hit = cache.get(ANALYTICS_CACHE_KEY)
        if hit is not None:
            return hit
    except Exception as exc:  # noqa: BLE001 - Redis down: compute instead
        log.warning("analytics cache read failed: %s", exc.__class__.__name__)
    result = compute()
    try:
        cache.set(ANALYTICS_CACHE_KEY, result, timeout=timeout)
    except Exception as exc:  # noqa: BLE001
        log.warning("analytics cache write failed: %s", exc.__class__.__name__)
    return result


def invalidate() -> None:
    """Drop the cached figures (each rollup calls this): the next read recomputes them, so
    the 300 s cache is a ceiling, not a delay. A cache failure is logged, never raised."""
    try:
        cache.delete(ANALYTICS_CACHE_KEY)
    except Exception as exc:  # noqa: BLE001 - Redis down: the entry expires by itself
        log.warning("analytics cache invalidation failed: %s", exc.__class__.__name__)


# -- the request time series -----------------------------------------------------------


def bucket_floor(moment: datetime, granularity: str) -> datetime:
    moment = moment.astimezone(UTC).replace(minute=0, second=0, microsecond=0)
    return moment.replace(hour=0) if granularity == "day" else moment


def _aware(value) -> datetime:
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    return datetime.combine(value, time(0), tzinfo=UTC)  # a date (day bucket)


def request_series(
    start: datetime, end: datetime, granularity: str, endpoint: str | None = None
) -> list[dict]:
    """Every bucket overlapping [start, end), zeros included, oldest first."""
    step = timedelta(days=1) if granularity == "day" else timedelta(hours=1)
    first = bucket_floor(start, granularity)
    last = bucket_floor(end - timedelta(microseconds=1), granularity)
    m = RequestMetricMinute
    bucket = m.day if granularity == "day" else m.hour
    query = (
        select(
            bucket,
            func.sum(m.requests),
            func.sum(m.latency_us),
            func.sum(case((m.status_class == SERVER_ERROR_CLASS, m.requests), else_=0)),
            func.sum(case((m.status_class == CLIENT_ERROR_CLASS, m.requests), else_=0)),
        )
        .where(m.minute >= first, m.minute < last + step)
        .group_by(bucket)
    )
    if endpoint:
        query = query.where(m.endpoint == endpoint)
    rows = {
        _aware(b): (int(r), int(lat), int(e5), int(e4)) for b, r, lat, e5, e4 in db.session.execute(query)
    }
    points = []
    at = first
    while at <= last:
        requests, latency_us, errors, client_errors = rows.get(at, (0, 0, 0, 0))
        points.append(
            {
                "bucket": at.isoformat(),
                "requests": requests,
                "errors": errors,
                "client_errors": client_errors,
                "avg_latency_ms": round(latency_us / requests / 1000, 3) if requests else None,
            }
        )
        at += step
    return points
