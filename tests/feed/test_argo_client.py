"""The pooled Argo client against the real Argo app on a loopback port."""

from __future__ import annotations

import time

import pytest

from app.core.circuit_breaker import CLOSED, OPEN
from app.feed.argo_client import ArgoUnavailable, argo_client
from tests.conftest import ServerThread
from tests.feed_helpers import crafted, metric


@pytest.fixture
def config_overrides():
    # FEED_WINDOW 0: these tests are about the client on the feed's upstream path.
    return {
        "ARGO_BREAKER_FAILURES": 3,
        "ARGO_BREAKER_RESET_SECONDS": 1.0,
        "ARGO_RETRY_BACKOFF": 0.01,
        "FEED_WINDOW": 0,
    }


def test_one_connection_serves_many_sequential_calls(app, argo_gunicorn):
    app.config["ARGO_URL"] = argo_gunicorn.url
    with app.app_context():
        for _ in range(40):
            assert len(argo_client.latest(limit=5)) == 5
    ports = argo_gunicorn.ports()
    assert len(ports) == 40 and len(set(ports)) == 1


def test_per_request_mode_opens_a_connection_per_call(app, argo_gunicorn):
    app.config.update(ARGO_URL=argo_gunicorn.url, ARGO_CLIENT_POOLED=False)  # the bench baseline
    with app.app_context():
        for _ in range(20):
            assert len(argo_client.latest(limit=5)) == 5
    ports = argo_gunicorn.ports()
    assert len(ports) == 20 and len(set(ports)) == 20


def test_retries_502_503_504_on_get_then_gives_up(feed_app, argo):
    argo.recorder.fail_with = 503
    before = metric("alpine_argo_failures_total", reason="status")
    with feed_app.app_context(), pytest.raises(ArgoUnavailable) as info:
        argo_client.latest(limit=5)
    assert info.value.reason == "status"
    assert argo.recorder.hits() == 3  # the first try + ARGO_RETRY_TOTAL (2) retries
    assert metric("alpine_argo_failures_total", reason="status") == before + 1


def test_a_read_timeout_is_not_retried(feed_app, argo):
    feed_app.config["ARGO_READ_TIMEOUT"] = 0.2
    argo.recorder.delay = 0.6
    started = time.monotonic()
    with feed_app.app_context(), pytest.raises(ArgoUnavailable) as info:
        argo_client.latest(limit=5)
    assert info.value.reason == "timeout"
    assert time.monotonic() - started < 0.55
    assert argo.recorder.hits() == 1


def test_breaker_opens_after_n_failures_skips_argo_then_half_opens(feed_app, client, argo, tier_headers):
    argo.store.insert_many(crafted(8))
    headers = tier_headers("pro")
    assert client.get("/api/signals/latest", headers=headers).get_json()["stale"] is False

    argo.recorder.fail_with = 503
    argo.recorder.reset()
    for _ in range(3):  # ARGO_BREAKER_FAILURES consecutive failures
        assert client.get("/api/signals/latest", headers=headers).get_json()["stale"] is True
    assert argo.recorder.hits() == 9  # 3 requests x (1 try + 2 retries)
    with feed_app.app_context():
        assert argo_client.breaker.state == OPEN
    assert metric("alpine_argo_breaker_state") == 2

    # Open: the next requests do not even try Argo.
    short_before = metric("alpine_argo_short_circuits_total")
    started = time.monotonic()
    for _ in range(5):
        body = client.get("/api/signals/latest", headers=headers).get_json()
        assert body["stale"] is True and body["count"] == 8
    assert argo.recorder.hits() == 9
    assert metric("alpine_argo_short_circuits_total") == short_before + 5
    assert time.monotonic() - started < 0.5

    # After ARGO_BREAKER_RESET_SECONDS one trial goes through; it fails -> open again.
    time.sleep(1.05)
    client.get("/api/signals/latest", headers=headers)
    assert argo.recorder.hits() == 12
    client.get("/api/signals/latest", headers=headers)
    assert argo.recorder.hits() == 12

    # Argo recovers: the next trial closes the breaker, answers are fresh again.
    argo.recorder.fail_with = None
    time.sleep(1.05)
    assert client.get("/api/signals/latest", headers=headers).get_json()["stale"] is False
    with feed_app.app_context():
        assert argo_client.breaker.state == CLOSED
    assert metric("alpine_argo_breaker_state") == 0
    assert client.get("/api/signals/latest", headers=headers).get_json()["stale"] is False


def test_feed_reuses_connections_across_requests(app, client, argo_gunicorn, tier_headers):
    app.config["ARGO_URL"] = argo_gunicorn.url
    headers = {"pro": tier_headers("pro"), "starter": tier_headers("starter")}
    for i in range(30):
        resp = client.get("/api/signals/latest", headers=headers["pro" if i % 2 else "starter"])
        assert resp.status_code == 200 and resp.get_json()["stale"] is False
    ports = argo_gunicorn.ports()
    assert len(ports) >= 30
    assert len(set(ports)) == 1  # sequential requests: one kept-alive connection


def test_sends_the_shared_api_key(app, tmp_path):
    from argo_app import create_app as create_argo

    argo = create_argo({"ARGO_DB_PATH": str(tmp_path / "keyed.db"), "ARGO_API_KEY": "k" * 32})
    argo.extensions["argo_store"].insert_many(crafted(3))
    server = ServerThread(argo).start()
    try:
        app.config.update(ARGO_URL=server.url, ARGO_API_KEY="k" * 32)
        with app.app_context():
            assert len(argo_client.latest(limit=3)) == 3
        app.extensions.pop("argo_client")  # rebuild the client without the key
        app.config["ARGO_API_KEY"] = None
        with app.app_context():
            with pytest.raises(ArgoUnavailable) as info:
                argo_client.latest(limit=3)
            assert info.value.reason == "status"
            assert argo_client.breaker.state == CLOSED  # refused, not down: breaker not fed
    finally:
        server.stop()


def test_ready_uses_the_pooled_client_and_never_trips_the_breaker(feed_app, client, argo):
    for _ in range(3):
        assert client.get("/ready").get_json()["checks"]["argo"] == "up"

    argo.stop()
    for _ in range(10):
        resp = client.get("/ready")
        assert resp.status_code == 503
        assert resp.get_json()["error"]["details"]["checks"]["argo"] == "down"
    with feed_app.app_context():
        assert argo_client.breaker.state == CLOSED  # the feed still tries Argo first

    # The breaker is open (feed failures) but Argo is back: /ready tells the truth.
    with feed_app.app_context():
        for _ in range(3):
            argo_client.breaker.record_failure()
        assert argo_client.breaker.state == OPEN
    restarted = ServerThread(argo.app, port=argo.port).start()
    try:
        assert client.get("/ready").get_json()["checks"]["argo"] == "up"
    finally:
        restarted.stop()
