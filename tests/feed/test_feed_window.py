"""The feed window (app/feed/window.py, window_poller.py) against a real Argo on a loopback port."""

from __future__ import annotations

import json
import threading
import time

import pytest

from app.feed import window_poller
from argo_app.integrity import verify_signal
from tests.feed_helpers import crafted, metric, newest_first

URL = "/api/signals/latest"


def _shas(body) -> list[str]:
    return [s["sha256"] for s in body["signals"]]


def _wait(predicate, timeout: float, step: float = 0.05):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(step)
    return predicate()


@pytest.fixture
def polled_app(feed_app):
    """The production arrangement: a background poller (fast, for the test)."""
    feed_app.config.update(FEED_POLL_INTERVAL=0.05, FEED_WINDOW_MAX_AGE=1.0)
    yield feed_app
    holder = feed_app.extensions.get(window_poller.EXTENSION_KEY)
    if holder is not None:
        holder.stop()
        if holder.thread is not None:
            holder.thread.join(timeout=5)


def test_steady_state_pages_make_no_upstream_call(polled_app, client, argo, tier_headers):
    signals = crafted(60, premium_every=4)
    argo.store.insert_many(signals)
    headers = tier_headers("elite")
    expected = _shas({"signals": newest_first(signals)})
    assert _wait(lambda: _shas(client.get(URL, headers=headers).get_json()) == expected[:10], 5)

    unchanged = metric("alpine_feed_window_polls_total", result="unchanged")
    assert _wait(lambda: metric("alpine_feed_window_polls_total", result="unchanged") > unchanged, 5)  # 304s

    # Pause the poller to count what the requests alone cost upstream.
    holder = polled_app.extensions[window_poller.EXTENSION_KEY]
    holder.interval = 3600.0
    time.sleep(0.2)  # a poll in flight lands
    argo.recorder.reset()
    holder.confirmed_at = time.monotonic()  # as if the poll had just confirmed it
    for offset in (0, 10, 20, 30, 40, 50):
        body = client.get(URL, query_string={"offset": offset}, headers=headers).get_json()
        assert body["stale"] is False and _shas(body) == expected[offset : offset + 10]
    assert argo.recorder.hits() == 0


def test_a_new_argo_signal_is_served_within_a_second(polled_app, client, argo, tier_headers):
    argo.store.insert_many(crafted(30))
    headers = tier_headers("pro")
    assert _wait(lambda: client.get(URL, headers=headers).get_json()["count"] == 10, 5)
    fresh = crafted(31)[-1]  # one minute after the newest stored one
    argo.store.insert_many([fresh])
    started = time.monotonic()
    seen = _wait(lambda: _shas(client.get(URL, headers=headers).get_json())[0] == fresh["sha256"], 5)
    assert seen and time.monotonic() - started < 2.0


def test_the_window_never_serves_a_signal_that_fails_verification(feed_app, client, argo, tier_headers):
    signals = crafted(12)
    tampered = dict(newest_first(signals)[0])
    tampered["entry_price"] = tampered["price"] = tampered["entry_price"] + 50  # same sha256
    genuine = [s for s in signals if s["sha256"] != tampered["sha256"]]
    argo.store.insert_many(genuine + [tampered])
    before = metric("alpine_signals_rejected_total", reason="sha256_mismatch", source="feed")

    body = client.get(URL, query_string={"limit": 50}, headers=tier_headers("elite")).get_json()
    assert body["stale"] is False
    assert _shas(body) == [s["sha256"] for s in newest_first(genuine)]
    assert all(verify_signal(s) for s in body["signals"])
    assert metric("alpine_signals_rejected_total", reason="sha256_mismatch", source="feed") == before + 1


def test_a_signal_altered_at_argo_leaves_the_window_with_argo_s_next_change(
    feed_app, client, argo, tier_headers
):
    signals = crafted(6)
    argo.store.insert_many(signals[:5])
    headers = tier_headers("pro")
    assert client.get(URL, headers=headers).get_json()["count"] == 5
    victim = newest_first(signals[:5])[0]
    altered = dict(victim, stop_loss=victim["stop_loss"] - 1)  # same sha256: no longer verifies
    argo.store.connection().execute(
        "UPDATE signals SET payload = ? WHERE sha256 = ?", (json.dumps(altered), victim["sha256"])
    )
    argo.store.insert_many(signals[5:])  # a new signal: Argo's ETag changes
    body = client.get(URL, headers=headers).get_json()
    assert victim["sha256"] not in _shas(body)
    assert _shas(body)[0] == signals[5]["sha256"] and body["count"] == 5
    assert all(verify_signal(s) for s in body["signals"])


def test_pages_run_on_past_the_window_without_overlap_or_gap(feed_app, client, argo, tier_headers):
    feed_app.config["FEED_WINDOW"] = 20
    signals = crafted(45, premium_every=3)
    argo.store.insert_many(signals)
    expected = [s["sha256"] for s in newest_first(signals)]
    expected_starter = [s["sha256"] for s in newest_first(signals) if s["confidence"] < 95]
    elite, starter = tier_headers("elite"), tier_headers("starter")

    got, got_starter = [], []
    for offset in range(0, 50, 10):
        argo.recorder.reset()
        body = client.get(URL, query_string={"offset": offset}, headers=elite).get_json()
        assert body["stale"] is False and body["offset"] == offset
        got += _shas(body)
        if offset + 10 > 20:  # beyond the window: the upstream path asked Argo for this page
            assert argo.recorder.hits() >= 2
        got_starter += _shas(client.get(URL, query_string={"offset": offset}, headers=starter).get_json())
    assert got == expected
    assert got_starter == expected_starter


def test_filters_on_the_window_match_the_rules(feed_app, client, argo, tier_headers):
    signals = crafted(40, premium_every=3, symbols=("AAPL", "MSFT", "NVDA"))
    argo.store.insert_many(signals)
    newest = newest_first(signals)
    pro = tier_headers("pro")
    premium = client.get(URL, query_string={"premium_only": "true"}, headers=pro).get_json()
    assert _shas(premium) == [s["sha256"] for s in newest if s["confidence"] >= 95][:10]
    nvda = client.get(URL, query_string={"symbol": "NVDA", "limit": 50}, headers=pro).get_json()
    assert _shas(nvda) == [s["sha256"] for s in newest if s["symbol"] == "NVDA"]
    assert nvda["limit"] == 50 and nvda["count"] == len(nvda["signals"])
    none = client.get(URL, query_string={"symbol": "NOPE"}, headers=pro).get_json()
    assert none["signals"] == [] and none["stale"] is False
    starter = client.get(URL, query_string={"symbol": "AAPL"}, headers=tier_headers("starter")).get_json()
    assert (
        _shas(starter) == [s["sha256"] for s in newest if s["symbol"] == "AAPL" and s["confidence"] < 95][:10]
    )
    assert starter["tier"] == "starter" and starter["limit"] == 10


@pytest.mark.filterwarnings("ignore::pytest.PytestUnhandledThreadExceptionWarning")
def test_a_dead_poller_is_restarted_and_never_takes_a_request_down(
    polled_app, client, argo, tier_headers, monkeypatch
):
    argo.store.insert_many(crafted(20))
    headers = tier_headers("pro")
    assert _wait(lambda: client.get(URL, headers=headers).get_json()["count"] == 10, 5)
    holder = polled_app.extensions[window_poller.EXTENSION_KEY]
    first_thread = holder.thread
    assert holder.starts == 1

    died = threading.Event()
    real_refresh = window_poller.WindowHolder.refresh

    def dying_refresh(self):
        if not died.is_set():
            died.set()
            raise SystemExit("the poller thread dies here")  # not an Exception: escapes the loop
        return real_refresh(self)

    monkeypatch.setattr(window_poller.WindowHolder, "refresh", dying_refresh)
    assert died.wait(5)
    first_thread.join(timeout=5)
    assert not first_thread.is_alive()

    resp = client.get(URL, headers=headers)  # starts a new poller; answered either way
    assert resp.status_code == 200 and resp.get_json()["count"] == 10
    assert holder.starts == 2 and holder.thread is not first_thread and holder.thread.is_alive()
    fresh = crafted(21)[-1]
    argo.store.insert_many([fresh])
    assert _wait(lambda: _shas(client.get(URL, headers=headers).get_json())[0] == fresh["sha256"], 5)


def test_argo_gone_withdraws_the_window_and_its_return_restores_it(polled_app, client, argo, tier_headers):
    from tests.conftest import ServerThread

    argo.store.insert_many(crafted(15))
    headers = tier_headers("pro")
    assert _wait(lambda: client.get(URL, headers=headers).get_json()["stale"] is False, 5)
    port = argo.port
    argo.stop()
    started = time.monotonic()
    assert _wait(lambda: client.get(URL, headers=headers).get_json()["stale"] is True, 5)
    assert time.monotonic() - started < 3.0
    back = ServerThread(argo.app, port=port).start()
    try:
        started = time.monotonic()
        assert _wait(lambda: client.get(URL, headers=headers).get_json()["stale"] is False, 5)
        assert time.monotonic() - started < 3.0
    finally:
        back.stop()
