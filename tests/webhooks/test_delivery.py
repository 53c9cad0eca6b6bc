"""Signals pushed by a real Celery worker to real receivers on loopback ports:
matching, tiers, signatures, exactly one message per (signal, endpoint),
retries with the same webhook-id, disabling, and a killed worker losing nothing."""

from __future__ import annotations

import json
import signal
import time

import pytest
from standardwebhooks.webhooks import Webhook

from tests.feed_helpers import crafted
from tests.webhooks.receivers import Receiver, wait_for

pytestmark = pytest.mark.slow


@pytest.fixture
def receivers():
    started = []

    def make(**kwargs):
        r = Receiver(**kwargs).start()
        started.append(r)
        return r

    yield make
    for r in started:
        r.stop()


def _endpoint(client, user, url, **fields):
    resp = client.post(
        "/api/webhooks", json={"url": url, "events": ["signal.created"], **fields}, headers=user.headers
    )
    assert resp.status_code == 201, resp.get_json()
    return resp.get_json()


def _store(app, signals):
    from app.feed.signal_ingest import store_new

    with app.app_context():
        return store_new(signals, use_recent=False)


def _set_tier(app, user_id, tier):
    from app.accounts.models import User
    from app.extensions import db

    with app.app_context():
        db.session.get(User, user_id).tier = tier
        db.session.commit()


def _verified(received, secret):
    out = []
    for req in received:
        headers = {k: req["headers"][k] for k in ("webhook-id", "webhook-timestamp", "webhook-signature")}
        out.append(Webhook(secret).verify(req["body"], headers))
    return out


def test_new_signals_are_pushed_once_to_each_matching_endpoint(app, client, auth, worker, receivers):
    pro, elite, downgraded = auth.user(tier="pro"), auth.user(tier="elite"), auth.user(tier="pro")
    r_all, r_msft, r_elite, r_down, r_off = (receivers() for _ in range(5))
    all_ = _endpoint(client, pro, r_all.url)
    msft = _endpoint(client, pro, r_msft.url, symbols=["MSFT"], min_confidence=90)
    el = _endpoint(client, elite, r_elite.url)
    _endpoint(client, downgraded, r_down.url)
    off = _endpoint(client, elite, r_off.url)
    client.patch(f"/api/webhooks/{off['id']}", json={"is_active": False}, headers=elite.headers)
    _set_tier(app, downgraded.id, "starter")  # push is pro/elite: the endpoint falls silent

    # AAPL 70, MSFT 97 (premium), NVDA 72, AAPL 97 (premium)
    signals = crafted(4, premium_every=2, symbols=("AAPL", "MSFT", "NVDA"))
    started = time.monotonic()
    assert _store(app, signals) == 4
    wait_for(lambda: len(r_all.received()) == 4 and len(r_elite.received()) == 4 and r_msft.received())
    assert time.monotonic() - started < 30

    for receiver, endpoint in ((r_all, all_), (r_elite, el)):
        payloads = _verified(receiver.received(), endpoint["secret"])
        assert {p["type"] for p in payloads} == {"signal.created"}
        assert sorted(p["data"]["sha256"] for p in payloads) == sorted(s["sha256"] for s in signals)
        assert {p["data"]["confidence"] for p in payloads} >= {97.0}  # premium to pro and elite
    [only] = _verified(r_msft.received(), msft["secret"])
    assert only["data"]["symbol"] == "MSFT" and only["data"]["confidence"] == 97.0

    # The same signals again (another process, a re-sync): nothing new is sent.
    assert _store(app, signals) == 0
    from app.webhooks.fanout import fan_out

    with app.app_context():
        assert fan_out([s["sha256"] for s in signals]) == []  # a redelivered fan-out task
    time.sleep(2)
    assert len(r_all.received()) == 4 and len(r_elite.received()) == 4 and len(r_msft.received()) == 1
    assert r_down.received() == [] and r_off.received() == []
    ids = [r["headers"]["webhook-id"] for r in r_all.received() + r_elite.received()]
    assert len(set(ids)) == 8

    log = client.get(f"/api/webhooks/{all_['id']}/deliveries", headers=pro.headers).get_json()["items"]
    assert len(log) == 4 and {d["status_code"] for d in log} == {200}
    assert {d["message_id"] for d in log} == {r["headers"]["webhook-id"] for r in r_all.received()}

    # Pushed signals count as delivered in the admin analytics.
    from app.metrics.rollup import run_rollup

    with app.app_context():
        run_rollup(include_open=True)
    admin = auth.admin()
    analytics = client.get("/api/admin/analytics", headers=admin.headers).get_json()
    assert analytics["signals_delivered_today"] == 4 + 1 + 4


def test_test_event_and_rotation_sign_with_both_secrets(app, client, auth, worker, receivers):
    pro = auth.user(tier="pro")
    receiver = receivers()
    endpoint = _endpoint(client, pro, receiver.url)
    old = endpoint["secret"]
    new = client.post(f"/api/webhooks/{endpoint['id']}/rotate-secret", headers=pro.headers).get_json()[
        "secret"
    ]
    resp = client.post(f"/api/webhooks/{endpoint['id']}/test", headers=pro.headers)
    assert resp.status_code == 202
    [req] = wait_for(receiver.received)
    assert req["headers"]["webhook-id"] == resp.get_json()["message_id"]
    for secret in (old, new):
        payload = _verified([req], secret)[0]
        assert payload["type"] == "webhook.test" and payload["data"] == {"endpoint_id": endpoint["id"]}
    assert len(req["headers"]["webhook-signature"].split(" ")) == 2


def test_failures_are_retried_with_the_same_webhook_id_then_delivered(app, client, auth, worker, receivers):
    pro = auth.user(tier="pro")
    flaky = receivers(fail_first=3)
    endpoint = _endpoint(client, pro, flaky.url)
    _store(app, crafted(1))
    wait_for(lambda: len(flaky.received()) >= 4)
    time.sleep(1.5)
    got = flaky.received()
    assert len(got) == 4  # delivered on the 4th attempt, then no more
    assert len({r["headers"]["webhook-id"] for r in got}) == 1
    assert all(b["at"] > a["at"] for a, b in zip(got, got[1:], strict=False))
    assert len(set(r["body"] for r in got)) == 1
    _verified(got[-1:], endpoint["secret"])
    log = client.get(f"/api/webhooks/{endpoint['id']}/deliveries", headers=pro.headers).get_json()["items"]
    assert [(d["attempt"], d["status_code"]) for d in log] == [(4, 200), (3, 500), (2, 500), (1, 500)]
    assert client.get(f"/api/webhooks/{endpoint['id']}", headers=pro.headers).get_json()["is_active"] is True


def test_an_endpoint_failing_long_enough_is_disabled_until_re_enabled(app, client, auth, worker, receivers):
    pro = auth.user(tier="pro")
    broken = receivers(status=500)
    endpoint = _endpoint(client, pro, broken.url)
    url = f"/api/webhooks/{endpoint['id']}"
    _store(app, crafted(1))
    # >= 5 failed attempts spanning >= 3 s (the test's thresholds)
    wait_for(lambda: client.get(url, headers=pro.headers).get_json()["is_active"] is False, timeout=60)
    state = client.get(url, headers=pro.headers).get_json()
    assert state["disabled_reason"] == "failing"
    attempts = len(broken.received())
    assert attempts >= 5
    assert broken.received()[-1]["at"] - broken.received()[0]["at"] >= 3.0

    # Disabled: a new signal is not sent to it.
    from datetime import timedelta

    from tests.feed_helpers import T0

    _store(app, crafted(1, start=T0 + timedelta(days=1)))
    time.sleep(3)
    assert len(broken.received()) <= attempts + 1  # at most the attempt already in flight

    # Its owner fixes the receiver and re-enables it: new signals flow again.
    broken.status = 200
    resp = client.patch(url, json={"is_active": True}, headers=pro.headers)
    assert resp.get_json()["is_active"] is True
    before = len(broken.received())
    fresh = crafted(1, start=T0 + timedelta(days=2))
    _store(app, fresh)
    wait_for(
        lambda: any(
            json.loads(r["body"])["data"]["sha256"] == fresh[0]["sha256"] for r in broken.received()[before:]
        )
    )


def test_a_killed_worker_loses_nothing(app, client, auth, start_worker, receivers):
    pro = auth.user(tier="pro")
    slow = receivers(hang_first=4.0)
    endpoint = _endpoint(client, pro, slow.url)
    first = start_worker()
    _store(app, crafted(1))
    wait_for(slow.received)  # the worker is inside the request now
    first.signal_group(signal.SIGKILL)
    first.proc.wait(10)
    start_worker()

    # The killed attempt's lease ends (timeout 2 s + margin 1 s); the sweeper
    # (beat's task, sent here by hand) finds the message overdue and re-sends it.
    def swept_and_delivered():
        with app.app_context():
            app.extensions["celery"].send_task("webhooks.sweep")
        time.sleep(1)
        return len(slow.received()) >= 2

    wait_for(swept_and_delivered, timeout=60, interval=0.5)
    got = slow.received()
    assert len({r["headers"]["webhook-id"] for r in got}) == 1
    _verified(got[-1:], endpoint["secret"])
    wait_for(
        lambda: client.get(f"/api/webhooks/{endpoint['id']}/deliveries", headers=pro.headers).get_json()[
            "items"
        ]
    )
    log = client.get(f"/api/webhooks/{endpoint['id']}/deliveries", headers=pro.headers).get_json()["items"]
    assert log[0]["status_code"] == 200
