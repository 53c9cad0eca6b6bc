"""GET /api/admin/analytics: every field from rows the test inserted, and the cache."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import update

from app.accounts.models import User
from app.extensions import cache, db
from app.feed.models import Signal
from app.metrics.analytics import ANALYTICS_CACHE_KEY, period_starts
from app.metrics.models import RequestMetricMinute, SignalDeliveryDaily
from app.metrics.rollup import run_rollup

PERIODS = ("today", "this_week", "this_month")


def moments(now):
    """One instant in each period boundary's neighbourhood, valid whatever today is."""
    s = period_starts(now)
    return [
        s["today"] + timedelta(seconds=1),
        s["this_week"] + timedelta(seconds=1),
        s["this_month"] + timedelta(seconds=1),
        s["this_month"] - timedelta(days=1),
        now - timedelta(days=40),
    ]


def expected(now, stamps, weights=None):
    weights = weights or [1] * len(stamps)
    return {
        p: sum(w for t, w in zip(stamps, weights, strict=True) if t >= period_starts(now)[p]) for p in PERIODS
    }


def add_signal(at):
    db.session.add(
        Signal(
            sha256=uuid.uuid4().hex * 2,
            symbol="BTC-USD",
            action="BUY",
            confidence=90.0,
            price=1.0,
            entry_price=1.0,
            stop_loss=0.9,
            take_profit=1.2,
            target_price=1.2,
            timestamp=at,
            strategy="consensus",
            created_at=at,
        )
    )


def get(client, headers):
    resp = client.get("/api/admin/analytics", headers=headers)
    assert resp.status_code == 200, resp.get_json()
    return resp.get_json()


def test_every_field_comes_from_the_data(app, client, auth):
    admin = auth.admin()
    now = datetime.now(UTC)
    stamps = moments(now)
    tiers = ["starter", "pro", "elite", "pro", "starter"]
    for i, (at, tier) in enumerate(zip(stamps, tiers, strict=True)):
        uid = auth.create_user(tier=tier)
        db.session.execute(update(User).where(User.id == uid).values(created_at=at, is_active=(i != 2)))
        add_signal(at)
        add_signal(at)
        db.session.add(SignalDeliveryDaily(day=at.date(), user_id=100 + i, delivered=10 + i))
        # Requests: 2xx and 5xx rows per instant (distinct endpoints keep the keys apart).
        minute = at.replace(second=0, microsecond=0)
        for sc, n in ((2, 30 + i), (5, 3 + i), (4, 2)):
            db.session.add(
                RequestMetricMinute(
                    minute=minute,
                    endpoint=f"/api/e{i}",
                    method="GET",
                    status_class=sc,
                    hour=minute.replace(minute=0),
                    day=minute.date(),
                    requests=n,
                    latency_us=n * 1000,
                )
            )
    db.session.commit()

    data = get(client, admin.headers)

    users_at = stamps + [now]  # the admin was created just now
    assert data["total_users"] == 6
    assert data["active_users"] == 5
    assert data["users_by_tier"] == {"starter": 3, "pro": 2, "elite": 1}
    new = expected(now, users_at)
    published = expected(now, stamps, [2] * 5)
    delivered = expected(now, stamps, [10 + i for i in range(5)])
    requests = expected(now, stamps, [30 + i + 3 + i + 2 for i in range(5)])
    for p in PERIODS:
        assert data[f"new_users_{p}"] == new[p], p
        assert data[f"signals_published_{p}"] == published[p], p
        assert data[f"signals_delivered_{p}"] == delivered[p], p
    assert data["api_requests_today"] == requests["today"]
    assert data["api_requests_this_week"] == requests["this_week"]
    # today: only stamps[0] (i = 0): 30 ok, 3 5xx, 2 4xx -> 3/35 answered 5xx
    today = [t >= period_starts(now)["today"] for t in stamps]
    errors = sum(3 + i for i, t in enumerate(today) if t)
    total = sum(35 + 2 * i for i, t in enumerate(today) if t)
    assert data["error_rate"] == round(100 * errors / total, 2)
    assert datetime.fromisoformat(data["generated_at"]) >= now


def test_counted_requests_reach_analytics_through_the_rollup(app, client, auth):
    admin = auth.admin()
    for _ in range(9):
        client.get("/openapi.json")
    client.get("/nope")
    run_rollup(include_open=True)
    data = get(client, admin.headers)
    assert data["api_requests_today"] == 10  # the analytics call itself is not rolled up yet
    assert data["api_requests_this_week"] == 10
    assert data["error_rate"] == 0.0


def test_cached_for_300_seconds(app, client, auth, redis_client):
    admin = auth.admin()
    first = get(client, admin.headers)
    auth.create_user()
    assert get(client, admin.headers) == first  # served from the cache
    ttl = redis_client.ttl(app.config["CACHE_KEY_PREFIX"] + ANALYTICS_CACHE_KEY)
    assert 295 <= ttl <= 300
    cache.delete(ANALYTICS_CACHE_KEY)
    assert get(client, admin.headers)["total_users"] == first["total_users"] + 1


@pytest.mark.parametrize("config_overrides", [{"REDIS_URL": "redis://127.0.0.1:1/0"}])
def test_a_dead_cache_does_not_fail_the_request(app, client, auth, config_overrides):
    admin = auth.admin()
    data = get(client, admin.headers)
    assert data["total_users"] == 1 and data["users_by_tier"]["starter"] == 1


def test_admins_only(app, client, auth):
    assert client.get("/api/admin/analytics").status_code == 401
    user = auth.user()
    resp = client.get("/api/admin/analytics", headers=user.headers)
    assert resp.status_code == 403
    assert resp.get_json()["error"]["code"] == "forbidden"
