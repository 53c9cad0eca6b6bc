"""GET /api/signals/latest against a real Argo on a loopback port."""

from __future__ import annotations

import pytest
from flask import g
from sqlalchemy import func, select

from app.extensions import db
from app.feed.models import Signal
from argo_app.integrity import verify_signal
from tests.feed_helpers import crafted, newest_first

URL = "/api/signals/latest"


def _stored(app) -> set[str]:
    with app.app_context():
        return set(db.session.execute(select(Signal.sha256)).scalars())


def test_requires_a_token(feed_app, client):
    resp = client.get(URL)
    assert resp.status_code == 401
    assert resp.get_json()["error"]["code"] == "token_missing"


def test_starter_gets_limit_non_premium_signals_newest_first(feed_app, client, argo, tier_headers):
    # One in three of the newest signals is premium: dropping them from a
    # page of `limit` would leave a starter short.
    signals = crafted(60, premium_every=3)
    argo.store.insert_many(signals)
    expected = [s for s in newest_first(signals) if s["confidence"] < 95]

    resp = client.get(URL, headers=tier_headers("starter"))
    body = resp.get_json()
    assert resp.status_code == 200, body
    assert body["tier"] == "starter" and body["stale"] is False
    assert body["limit"] == 10 and body["count"] == 10 == len(body["signals"])
    assert [s["sha256"] for s in body["signals"]] == [s["sha256"] for s in expected[:10]]
    assert all(s["confidence"] < 95 for s in body["signals"])
    assert all(verify_signal(s) for s in body["signals"])

    # The next page continues the starter's own (non-premium) stream, no gap or overlap.
    page2 = client.get(URL, query_string={"offset": 10}, headers=tier_headers("starter")).get_json()
    assert [s["sha256"] for s in page2["signals"]] == [s["sha256"] for s in expected[10:20]]
    assert page2["offset"] == 10


def test_starter_premium_only_is_403_tier_required(feed_app, client, argo, tier_headers):
    argo.store.insert_many(crafted(5))
    argo.recorder.reset()
    resp = client.get(URL, query_string={"premium_only": "true"}, headers=tier_headers("starter"))
    assert resp.status_code == 403
    assert resp.get_json()["error"]["code"] == "tier_required"
    assert argo.recorder.hits() == 0  # refused before asking Argo


@pytest.mark.parametrize("tier", ["pro", "elite"])
def test_pro_and_elite_see_premium(feed_app, client, argo, tier_headers, tier):
    signals = crafted(30, premium_every=3)
    argo.store.insert_many(signals)
    headers = tier_headers(tier)

    body = client.get(URL, headers=headers).get_json()
    assert body["tier"] == tier and body["count"] == 10 and body["stale"] is False
    assert [s["sha256"] for s in body["signals"]] == [s["sha256"] for s in newest_first(signals)[:10]]
    assert any(s["confidence"] >= 95 for s in body["signals"])

    premium = client.get(URL, query_string={"premium_only": "true"}, headers=headers).get_json()
    assert premium["count"] == 10
    assert all(s["confidence"] >= 95 for s in premium["signals"])


def test_limit_is_clamped_to_the_tier_and_reported(feed_app, client, argo, tier_headers):
    with argo.app.app_context():  # Argo's own CLI, in Argo's app context
        result = argo.app.test_cli_runner().invoke(
            args=["signals", "generate", "--count", "300", "--seed", "1"]
        )
    assert result.exit_code == 0, result.output
    for tier, asked, applied in [
        ("starter", 50, 10),
        ("pro", 500, 50),
        ("elite", 1000, 200),
        ("elite", 7, 7),
    ]:
        body = client.get(URL, query_string={"limit": asked}, headers=tier_headers(tier)).get_json()
        assert body["limit"] == applied, (tier, body.get("limit"))
        assert body["count"] == applied == len(body["signals"])


@pytest.mark.parametrize(
    "query, field",
    [
        ({"limit": 0}, "limit"),
        ({"limit": 10_001}, "limit"),
        ({"limit": "ten"}, "limit"),
        ({"offset": -1}, "offset"),
        ({"premium_only": "maybe"}, "premium_only"),
        ({"symbol": "NOT A SYMBOL!"}, "symbol"),
        ({"colour": "red"}, "colour"),
    ],
)
def test_bad_query_is_422_and_argo_is_not_called(feed_app, client, argo, tier_headers, query, field):
    headers = tier_headers("pro")
    argo.recorder.reset()
    resp = client.get(URL, query_string=query, headers=headers)
    assert resp.status_code == 422
    body = resp.get_json()["error"]
    assert body["code"] == "validation_error" and field in body["details"]["query"]
    assert argo.recorder.hits() == 0


def test_symbol_is_upper_cased_and_filters(feed_app, client, argo, tier_headers):
    argo.store.insert_many(crafted(20, symbols=("AAPL", "MSFT", "NVDA")))
    body = client.get(URL, query_string={"symbol": "msft"}, headers=tier_headers("pro")).get_json()
    assert body["count"] > 0 and {s["symbol"] for s in body["signals"]} == {"MSFT"}


def test_sets_signals_delivered_for_the_metrics_hook(feed_app, client, argo, tier_headers):
    argo.store.insert_many(crafted(4))
    seen = []
    feed_app.after_request(lambda resp: seen.append(g.get("signals_delivered")) or resp)
    body = client.get(URL, headers=tier_headers("pro")).get_json()
    assert seen == [body["count"]] == [4]


def test_argo_down_serves_the_local_copy_then_503_when_empty(feed_app, client, argo, tier_headers):
    from tests.conftest import ServerThread

    signals = crafted(40, premium_every=4)
    argo.store.insert_many(signals)
    starter, pro = tier_headers("starter"), tier_headers("pro")
    fresh = client.get(URL, query_string={"limit": 50}, headers=pro).get_json()
    assert fresh["stale"] is False and fresh["count"] == 40
    assert len(_stored(feed_app)) == 40  # the feed filled the local copy

    argo.stop()
    stale = client.get(URL, query_string={"limit": 50}, headers=pro).get_json()
    assert stale["stale"] is True
    assert [s["sha256"] for s in stale["signals"]] == [s["sha256"] for s in fresh["signals"]]
    assert all(verify_signal(s) for s in stale["signals"])

    # Same tier rules and filters on the stale path.
    stale_starter = client.get(URL, headers=starter).get_json()
    expected = [s["sha256"] for s in newest_first(signals) if s["confidence"] < 95][:10]
    assert stale_starter["stale"] is True and [s["sha256"] for s in stale_starter["signals"]] == expected
    premium = client.get(URL, query_string={"premium_only": "true", "limit": 5}, headers=pro).get_json()
    assert premium["stale"] is True and premium["count"] == 5
    assert all(s["confidence"] >= 95 for s in premium["signals"])
    nothing = client.get(URL, query_string={"symbol": "ZZZZ"}, headers=pro)
    assert nothing.status_code == 200
    assert nothing.get_json() == {
        "signals": [],
        "count": 0,
        "limit": 10,
        "offset": 0,
        "tier": "pro",
        "stale": True,
    }

    # Restarted on the same port over the same store: fresh again.
    argo.recorder.reset()
    restarted = ServerThread(argo.app, port=argo.port).start()
    try:
        again = client.get(URL, headers=pro).get_json()
        assert again["stale"] is False and again["count"] == 10
        assert argo.recorder.hits() >= 1
    finally:
        restarted.stop()

    # Down again with an empty local copy: nothing to serve.
    with feed_app.app_context():
        db.session.execute(Signal.__table__.delete())
        db.session.commit()
    resp = client.get(URL, headers=pro)
    assert resp.status_code == 503
    assert resp.get_json()["error"]["code"] == "upstream_unavailable"


def test_tampered_signal_is_rejected_counted_never_stored_or_served(feed_app, client, argo, tier_headers):
    from tests.feed_helpers import metric

    signals = crafted(12)
    tampered = dict(newest_first(signals)[0])
    tampered["entry_price"] = tampered["price"] = tampered["entry_price"] + 50  # same sha256
    genuine = [s for s in signals if s["sha256"] != tampered["sha256"]]
    argo.store.insert_many(genuine + [tampered])
    before = metric("alpine_signals_rejected_total", reason="sha256_mismatch", source="feed")

    body = client.get(URL, query_string={"limit": 50}, headers=tier_headers("elite")).get_json()
    served = {s["sha256"] for s in body["signals"]}
    assert tampered["sha256"] not in served
    assert served == {s["sha256"] for s in genuine}
    assert metric("alpine_signals_rejected_total", reason="sha256_mismatch", source="feed") == before + 1
    assert tampered["sha256"] not in _stored(feed_app)

    # ... and the stale path cannot serve it either: it was never stored.
    argo.stop()
    stale = client.get(URL, query_string={"limit": 50}, headers=tier_headers("elite")).get_json()
    assert stale["stale"] is True and tampered["sha256"] not in {s["sha256"] for s in stale["signals"]}


def test_starter_page_deeper_than_the_scan_bound_comes_from_the_local_copy(
    feed_app, client, argo, tier_headers, runner
):
    feed_app.config["SIGNAL_SCAN_MAX"] = 30
    feed_app.config["FEED_WINDOW"] = 0  # the upstream path's scan bound (the window has its own tests)
    signals = crafted(80, premium_every=5)
    argo.store.insert_many(signals)
    assert runner.invoke(args=["signals", "sync"]).exit_code == 0
    expected = [s["sha256"] for s in newest_first(signals) if s["confidence"] < 95]

    shallow = client.get(URL, query_string={"offset": 10}, headers=tier_headers("starter")).get_json()
    assert shallow["stale"] is False and [s["sha256"] for s in shallow["signals"]] == expected[10:20]
    deep = client.get(URL, query_string={"offset": 40}, headers=tier_headers("starter")).get_json()
    assert deep["stale"] is True and [s["sha256"] for s in deep["signals"]] == expected[40:50]


def test_request_path_upsert_is_idempotent_and_cheap(feed_app, client, argo, tier_headers):
    argo.store.insert_many(crafted(15))
    headers = tier_headers("pro")
    for _ in range(3):
        assert client.get(URL, query_string={"limit": 15}, headers=headers).status_code == 200
    with feed_app.app_context():
        assert db.session.execute(select(func.count()).select_from(Signal)).scalar_one() == 15
        # created_at is when Alpine stored it (a per-row callable default).
        assert (
            db.session.execute(
                select(func.count()).select_from(Signal).where(Signal.created_at.is_(None))
            ).scalar_one()
            == 0
        )


@pytest.mark.parametrize("tier, quota", [("starter", 1_000), ("pro", 10_000), ("elite", 100_000)])
def test_feed_responses_carry_the_tier_quota(feed_app, client, argo, tier_headers, tier, quota):
    argo.store.insert_many(crafted(3))
    headers = tier_headers(tier)
    first = client.get(URL, headers=headers)
    second = client.get(URL, headers=headers)
    assert first.status_code == second.status_code == 200
    assert first.headers["X-RateLimit-Limit"] == str(quota)
    assert int(first.headers["X-RateLimit-Remaining"]) == quota - 1
    assert int(second.headers["X-RateLimit-Remaining"]) == quota - 2


def test_feed_quota_exhausted_is_429(feed_app, client, argo, tier_headers, redis_client):
    argo.store.insert_many(crafted(3))
    headers = tier_headers("starter")
    assert client.get(URL, headers=headers).status_code == 200
    # Use up the rest of today's quota through the same counter the hook uses.
    (key,) = redis_client.keys("alpine:quota:*")
    redis_client.set(key, 1_000)
    argo.recorder.reset()
    resp = client.get(URL, headers=headers)
    assert resp.status_code == 429
    assert resp.get_json()["error"]["code"] == "quota_exceeded" and "Retry-After" in resp.headers
    assert argo.recorder.hits() == 0


def test_a_stored_signal_altered_later_at_argo_is_rejected(feed_app, client, argo, tier_headers):
    import json

    from tests.feed_helpers import metric

    # Served from the window: Argo's ETag (a digest of the body) changes with the
    # altered row, so the next poll re-verifies it and it leaves the window.
    signals = crafted(5)
    argo.store.insert_many(signals)
    headers = tier_headers("pro")
    first = client.get(URL, headers=headers).get_json()
    assert first["count"] == 5  # served, verified and stored
    victim = newest_first(signals)[0]
    altered = dict(victim, stop_loss=victim["stop_loss"] - 1, confidence=99.0)  # same sha256
    conn = argo.store.connection()
    conn.execute(
        "UPDATE signals SET payload = ?, confidence = 99.0 WHERE sha256 = ?",
        (json.dumps(altered), victim["sha256"]),
    )
    before = metric("alpine_signals_rejected_total", reason="sha256_mismatch", source="feed")

    body = client.get(URL, headers=headers).get_json()
    assert body["count"] == 4 and victim["sha256"] not in {s["sha256"] for s in body["signals"]}
    assert metric("alpine_signals_rejected_total", reason="sha256_mismatch", source="feed") == before + 1
    with feed_app.app_context():
        row = db.session.execute(select(Signal).where(Signal.sha256 == victim["sha256"])).scalar_one()
        assert row.confidence == victim["confidence"]  # the local copy keeps the genuine one
