"""GET /api/users/me/usage: quota from the live counter, history from the rolled-up tables."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import select

from app.extensions import db
from app.feed import quotas
from app.metrics.models import SignalDeliveryDaily
from app.usage.models import FeedUsageDaily
from app.usage.snapshot import snapshot


def _today() -> date:
    return datetime.now(UTC).date()


def test_usage_lists_every_day_newest_first_with_zeros(client, logged_in_user):
    resp = client.get("/api/users/me/usage", headers=logged_in_user.headers)
    assert resp.status_code == 200, resp.get_json()
    body = resp.get_json()
    days = body["days"]
    assert len(days) == 30
    expected = [(_today() - timedelta(days=n)).isoformat() for n in range(30)]
    assert [d["date"] for d in days] == expected
    assert all(d["feed_requests"] == 0 and d["signals_delivered"] == 0 for d in days)
    assert body["quota"]["limit"] == 1000 and body["quota"]["used_today"] == 0
    assert body["quota"]["remaining"] == 1000
    midnight = datetime.combine(_today() + timedelta(days=1), datetime.min.time(), tzinfo=UTC)
    assert datetime.fromisoformat(body["quota"]["resets_at"]) == midnight
    assert body["keys"] == []


def test_usage_combines_live_count_and_rolled_up_days(app, client, auth, redis_client):
    me = auth.user(tier="pro")
    other = auth.user()
    today = _today()
    redis_client.set(quotas.day_key(me.id), 7)  # today's live quota counter
    with app.app_context():
        db.session.add_all(
            [
                FeedUsageDaily(user_id=me.id, day=today - timedelta(days=1), requests=40),
                FeedUsageDaily(user_id=me.id, day=today - timedelta(days=3), requests=5),
                FeedUsageDaily(user_id=other.id, day=today - timedelta(days=1), requests=999),
                SignalDeliveryDaily(user_id=me.id, day=today, delivered=70),
                SignalDeliveryDaily(user_id=me.id, day=today - timedelta(days=1), delivered=400),
                SignalDeliveryDaily(user_id=other.id, day=today, delivered=12345),
                FeedUsageDaily(user_id=me.id, day=today - timedelta(days=10), requests=3),  # outside days=7
            ]
        )
        db.session.commit()

    body = client.get("/api/users/me/usage?days=7", headers=me.headers).get_json()
    assert body["quota"] == {
        "limit": 10000,
        "used_today": 7,
        "remaining": 9993,
        "resets_at": body["quota"]["resets_at"],
    }
    assert len(body["days"]) == 7
    by_date = {d["date"]: d for d in body["days"]}
    assert by_date[today.isoformat()] == {
        "date": today.isoformat(),
        "feed_requests": 7,
        "signals_delivered": 70,
    }
    yesterday = (today - timedelta(days=1)).isoformat()
    assert by_date[yesterday] == {"date": yesterday, "feed_requests": 40, "signals_delivered": 400}
    assert by_date[(today - timedelta(days=3)).isoformat()]["feed_requests"] == 5
    assert sum(d["feed_requests"] for d in body["days"]) == 52  # nothing of the other user's


@pytest.mark.parametrize("days", ["0", "91", "-1", "abc", "1e3", "99999999999999999999"])
def test_days_out_of_range_is_422(client, logged_in_user, days):
    resp = client.get(f"/api/users/me/usage?days={days}", headers=logged_in_user.headers)
    assert resp.status_code == 422
    assert "days" in resp.get_json()["error"]["details"]["query"]


@pytest.mark.parametrize("days", [1, 90])
def test_days_bounds_are_accepted(client, logged_in_user, days):
    resp = client.get(f"/api/users/me/usage?days={days}", headers=logged_in_user.headers)
    assert resp.status_code == 200 and len(resp.get_json()["days"]) == days


def test_usage_needs_a_login(client):
    assert client.get("/api/users/me/usage").status_code == 401


def test_snapshot_copies_counters_and_never_lowers_a_day(app, auth, redis_client):
    a, b = auth.create_user(), auth.create_user()
    now = datetime.now(UTC)
    yesterday = now - timedelta(days=1)
    redis_client.set(quotas.day_key(a, now), 12)
    redis_client.set(quotas.day_key(a, yesterday), 30)
    redis_client.set(quotas.day_key(b, yesterday), 4)
    with app.app_context():
        assert snapshot(now) == 3
        redis_client.set(quotas.day_key(a, yesterday), 2)  # e.g. Redis restarted and counted anew
        redis_client.set(quotas.day_key(a, now), 15)
        snapshot(now)
        rows = {(r.user_id, r.day): r.requests for r in db.session.execute(select(FeedUsageDaily)).scalars()}
    assert rows == {(a, now.date()): 15, (a, yesterday.date()): 30, (b, yesterday.date()): 4}
