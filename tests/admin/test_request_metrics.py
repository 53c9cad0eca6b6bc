"""GET /api/admin/metrics/requests: buckets from the analytics tables, validation."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone

import pytest

from app.extensions import db
from app.metrics.models import RequestMetricMinute

DAY = date.today() - timedelta(days=3)
T0 = datetime(DAY.year, DAY.month, DAY.day, tzinfo=UTC)


def row(at, endpoint="/api/users/me", status_class=2, requests=1, latency_ms=10.0):
    minute = at.replace(second=0, microsecond=0)
    db.session.add(
        RequestMetricMinute(
            minute=minute,
            endpoint=endpoint,
            method="GET",
            status_class=status_class,
            hour=minute.replace(minute=0),
            day=minute.date(),
            requests=requests,
            latency_us=int(requests * latency_ms * 1000),
        )
    )


@pytest.fixture
def rows(app):
    row(T0 + timedelta(hours=10, minutes=5), requests=6, latency_ms=10)
    row(T0 + timedelta(hours=10, minutes=30), requests=4, latency_ms=20)
    row(T0 + timedelta(hours=10, minutes=30), status_class=5, requests=2, latency_ms=50)
    row(T0 + timedelta(hours=11), endpoint="/api/signals/latest", requests=3, latency_ms=5)
    row(T0 + timedelta(days=1, hours=5), status_class=4, requests=7, latency_ms=1)
    row(T0 - timedelta(minutes=1), requests=100)  # the day before: outside every range below
    db.session.commit()


def series(client, headers, **params):
    resp = client.get("/api/admin/metrics/requests", query_string=params, headers=headers)
    assert resp.status_code == 200, resp.get_json()
    return resp.get_json()


def test_hourly_buckets(client, auth, rows):
    admin = auth.admin()
    data = series(client, admin.headers, **{"from": DAY.isoformat(), "to": DAY.isoformat()})
    assert data["granularity"] == "hour"
    assert (data["from"], data["to"]) == (T0.isoformat(), (T0 + timedelta(days=1)).isoformat())
    points = data["points"]
    assert len(points) == 24  # a date `to` includes its whole day; empty hours included
    by_bucket = {p["bucket"]: p for p in points}
    ten = by_bucket[(T0 + timedelta(hours=10)).isoformat()]
    assert ten == {
        "bucket": (T0 + timedelta(hours=10)).isoformat(),
        "requests": 12,
        "errors": 2,
        "client_errors": 0,
        "avg_latency_ms": round((60 + 80 + 100) / 12, 3),
    }
    assert by_bucket[(T0 + timedelta(hours=11)).isoformat()]["requests"] == 3
    assert by_bucket[T0.isoformat()] == {
        "bucket": T0.isoformat(),
        "requests": 0,
        "errors": 0,
        "client_errors": 0,
        "avg_latency_ms": None,
    }
    assert sum(p["requests"] for p in points) == 15


def test_daily_buckets_and_endpoint_filter(client, auth, rows):
    admin = auth.admin()
    data = series(
        client,
        admin.headers,
        granularity="day",
        **{"from": DAY.isoformat()},
        to=(DAY + timedelta(days=1)).isoformat(),
    )
    assert [(p["bucket"], p["requests"], p["errors"], p["client_errors"]) for p in data["points"]] == [
        (T0.isoformat(), 15, 2, 0),
        ((T0 + timedelta(days=1)).isoformat(), 7, 0, 7),
    ]
    only = series(
        client,
        admin.headers,
        granularity="day",
        endpoint="/api/signals/latest",
        **{"from": DAY.isoformat()},
        to=DAY.isoformat(),
    )
    assert [p["requests"] for p in only["points"]] == [3]


def test_datetimes_with_offsets_are_utc(client, auth, rows):
    admin = auth.admin()
    start = (T0 + timedelta(hours=10)).astimezone(timezone(timedelta(hours=2)))
    data = series(
        client,
        admin.headers,
        **{"from": start.isoformat()},
        to=(T0 + timedelta(hours=12)).isoformat().replace("+00:00", "Z"),
    )
    assert [(p["bucket"], p["requests"]) for p in data["points"]] == [
        ((T0 + timedelta(hours=10)).isoformat(), 12),
        ((T0 + timedelta(hours=11)).isoformat(), 3),
    ]


@pytest.mark.parametrize(
    "params, field",
    [
        ({"from": "yesterday"}, "from"),
        ({"from": "2026-13-01"}, "from"),
        ({"to": "2026-02-30T10:00:00"}, "to"),
        ({"from": "2026-03-02", "to": "2026-03-01"}, "from"),
        ({"from": "2026-01-01", "to": "2026-03-01"}, "to"),  # > 31 days by hour
        ({"from": "2024-01-01", "to": "2026-03-01", "granularity": "day"}, "to"),
        ({"granularity": "minute"}, "granularity"),
        ({"endpoint": ""}, "endpoint"),
        ({"bogus": "1"}, "bogus"),
        ({"to": "0001-01-01T00:00:00"}, "to"),
        ({"from": "9999-12-31", "to": "9999-12-31"}, "from"),
        ({"from": "2026-01-01T00:00:00+24:00"}, "from"),
    ],
)
def test_bad_queries_are_422(client, auth, params, field):
    admin = auth.admin()
    resp = client.get("/api/admin/metrics/requests", query_string=params, headers=admin.headers)
    assert resp.status_code == 422, resp.get_json()
    error = resp.get_json()["error"]
    assert error["code"] == "validation_error"
    assert field in error["details"]["query"]


def test_admins_only_before_validation(client, auth):
    user = auth.user()
    resp = client.get("/api/admin/metrics/requests", query_string={"from": "nonsense"}, headers=user.headers)
    assert resp.status_code == 403
    assert client.get("/api/admin/metrics/requests").status_code == 401
