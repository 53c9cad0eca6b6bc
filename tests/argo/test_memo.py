"""latest's memo of rendered answers: never stale, 304 still works, bounded.

The store memoises each (body, ETag) per connection and revalidates it with
``PRAGMA data_version`` (other connections' commits) and ``total_changes``
(its own writes) on every request. The test client runs requests on the test's
own thread, so ``store.connection()`` here is the connection the view uses.
"""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
import threading
from datetime import UTC, datetime, timedelta

import pytest

from argo_app import store as store_module
from argo_app.generator.engine import generate
from argo_app.model import make_signal, to_payload

URL = "/api/signals/latest"
REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def newest_signal(seconds_ahead: int = 3600, symbol: str = "AAPL", confidence: float = 97.5) -> dict:
    """A signal newer than anything the generator made (it ends before 'now')."""
    return make_signal(
        symbol=symbol,
        action="BUY",
        confidence=confidence,
        entry_price=100.0,
        stop_loss=98.0,
        take_profit=104.0,
        timestamp=datetime.now(UTC).replace(microsecond=0) + timedelta(seconds=seconds_ahead),
        strategy="weighted_consensus",
    )


def insert_with_own_connection(db_path: str, signal: dict) -> None:
    """What another process does: its own sqlite3 connection, its own commit."""
    conn = sqlite3.connect(db_path, isolation_level=None, timeout=5)
    try:
        conn.execute(
            "INSERT INTO signals (sha256, symbol, action, confidence, entry_price, stop_loss, take_profit,"
            " timestamp, strategy, payload) VALUES (?,?,?,?,?,?,?,?,?,?)",
            (
                signal["sha256"],
                signal["symbol"],
                signal["action"],
                signal["confidence"],
                signal["entry_price"],
                signal["stop_loss"],
                signal["take_profit"],
                signal["timestamp"],
                signal["strategy"],
                to_payload(signal),
            ),
        )
    finally:
        conn.close()


@pytest.fixture
def seeded(argo_app_):
    store = argo_app_.extensions["argo_store"]
    store.insert_many(generate(30, 21))
    return argo_app_, store


def test_a_signal_committed_by_another_connection_is_in_the_very_next_answer(seeded):
    app, store = seeded
    client = app.test_client()
    params = {"limit": "5"}
    first = client.get(URL, query_string=params)
    again = client.get(URL, query_string=params)  # served from the memo
    assert again.data == first.data and again.headers["ETag"] == first.headers["ETag"]

    signal = newest_signal()
    insert_with_own_connection(app.config["ARGO_DB_PATH"], signal)

    after = client.get(URL, query_string=params, headers={"If-None-Match": first.headers["ETag"]})
    assert after.status_code == 200
    assert after.headers["ETag"] != first.headers["ETag"]
    assert after.get_json()[0]["sha256"] == signal["sha256"]
    # every filtered view of the data sees it too (the whole memo is invalid, not just one key)
    premium = client.get(URL, query_string={"limit": "3", "premium_only": "true", "symbol": "AAPL"})
    assert premium.get_json()[0]["sha256"] == signal["sha256"]


def test_a_signal_stored_by_the_generator_process_is_in_the_very_next_answer(seeded):
    app, store = seeded
    client = app.test_client()
    before = client.get(URL, query_string={"limit": "500"})
    seen = {s["sha256"] for s in before.get_json()}
    env = {**os.environ, "ARGO_DB_PATH": app.config["ARGO_DB_PATH"], "ARGO_API_KEY": ""}
    subprocess.run(
        [sys.executable, "-m", "flask", "--app", "argo_app", "signals", "generate"]
        + ["--count", "5", "--seed", "99", "--end", "now"],
        check=True,
        cwd=REPO,
        env=env,
        capture_output=True,
        timeout=120,
    )
    after = client.get(URL, query_string={"limit": "500"}, headers={"If-None-Match": before.headers["ETag"]})
    assert after.status_code == 200 and after.headers["ETag"] != before.headers["ETag"]
    assert len({s["sha256"] for s in after.get_json()} - seen) == 5


def test_writes_through_the_store_on_the_same_connection_and_on_another_thread(seeded):
    app, store = seeded
    client = app.test_client()
    tag = client.get(URL).headers["ETag"]

    mine = newest_signal(3600)
    assert store.insert_many([mine]) == 1  # this thread's connection: data_version does not move
    resp = client.get(URL, headers={"If-None-Match": tag})
    assert resp.status_code == 200 and resp.get_json()[0]["sha256"] == mine["sha256"]
    tag = resp.headers["ETag"]

    theirs = newest_signal(7200)
    worker = threading.Thread(target=lambda: (store.insert_many([theirs]), store.close_thread_connection()))
    worker.start()
    worker.join()
    resp = client.get(URL, headers={"If-None-Match": tag})
    assert resp.status_code == 200 and resp.get_json()[0]["sha256"] == theirs["sha256"]


def test_unchanged_store_is_still_304_and_costs_one_pragma(seeded):
    app, store = seeded
    client = app.test_client()
    tag = client.get(URL, query_string={"limit": "7"}).headers["ETag"]
    statements: list[str] = []
    store.connection().set_trace_callback(statements.append)
    try:
        for _ in range(3):
            resp = client.get(URL, query_string={"limit": "7"}, headers={"If-None-Match": tag})
            assert resp.status_code == 304 and resp.data == b"" and resp.headers["ETag"] == tag
        ok = client.get(URL, query_string={"limit": "7"})
    finally:
        store.connection().set_trace_callback(None)
    assert ok.status_code == 200 and ok.headers["ETag"] == tag and len(ok.get_json()) == 7
    assert statements == ["PRAGMA data_version"] * 4


def test_memo_hits_answer_exactly_what_a_fresh_render_answers(seeded):
    app, store = seeded
    client = app.test_client()
    queries = [
        {"limit": "3"},
        {"limit": "3", "offset": "2"},
        {"limit": "10", "premium_only": "true"},
        {"limit": "10", "symbol": "AAPL"},
        {"limit": "10", "min_confidence": "80"},
        {"limit": "10", "min_confidence": "80.0"},  # another query string, the same answer
    ]
    memoised = [client.get(URL, query_string=q) for q in queries for _ in range(2)]
    store.close_thread_connection()  # a fresh connection, an empty memo
    fresh = [client.get(URL, query_string=q) for q in queries]
    for i, resp in enumerate(fresh):
        for hit in memoised[2 * i : 2 * i + 2]:
            assert hit.data == resp.data and hit.headers["ETag"] == resp.headers["ETag"]


def test_a_bad_query_is_422_every_time_and_never_memoised(seeded):
    app, store = seeded
    client = app.test_client()
    client.get(URL)
    before = store.memo_size()
    for _ in range(2):
        resp = client.get(URL, query_string={"limit": "0"})
        assert resp.status_code == 422 and resp.get_json()["error"]["code"] == "validation_error"
        assert client.get(URL, query_string={"limit": "5", "bogus": "1"}).status_code == 422
    assert store.memo_size() == before


def test_memo_stays_bounded_under_many_distinct_query_strings(seeded):
    app, store = seeded
    client = app.test_client()
    n = store_module.MEMO_MAX_ENTRIES + 100
    for i in range(n):
        for query in ({"limit": "1", "offset": str(i % 40)}, {"limit": "1", "min_confidence": str(i / 10)}):
            assert client.get(URL, query_string=query).status_code == 200
    entries, size = store.memo_size()
    assert entries == store_module.MEMO_MAX_ENTRIES
    assert 0 < size <= store_module.MEMO_MAX_BYTES
    # the newest keys are the ones kept: this one answers from the memo (no query)
    statements: list[str] = []
    store.connection().set_trace_callback(statements.append)
    try:
        client.get(URL, query_string={"limit": "1", "min_confidence": str((n - 1) / 10)})
    finally:
        store.connection().set_trace_callback(None)
    assert statements == ["PRAGMA data_version"]


def test_memo_byte_budget_holds_and_oversized_bodies_are_not_kept(seeded, monkeypatch):
    app, store = seeded
    client = app.test_client()
    one = len(client.get(URL, query_string={"limit": "1"}).data)
    monkeypatch.setattr(store_module, "MEMO_MAX_BYTES", 5 * one + 10)
    store.close_thread_connection()
    for offset in range(20):
        client.get(URL, query_string={"limit": "1", "offset": str(offset)})
        assert store.memo_size()[1] <= store_module.MEMO_MAX_BYTES
    assert store.memo_size()[0] <= 5 + 1
    big = client.get(URL, query_string={"limit": "30"})
    assert big.status_code == 200 and len(big.get_json()) == 30
    assert store.memo_size()[1] <= store_module.MEMO_MAX_BYTES


SECURITY_HEADERS = (
    "X-Content-Type-Options",
    "X-Frame-Options",
    "Referrer-Policy",
    "Content-Security-Policy",
    "Strict-Transport-Security",
)


@pytest.mark.parametrize("base_url", ["http://localhost", "https://localhost"])
def test_latest_carries_the_security_headers_of_any_other_api_response(seeded, base_url):
    """latest sets the security headers itself (the hook then skips them):
    the same names and values as the hook gives another API response, once each."""
    app, store = seeded
    client = app.test_client()
    sha = client.get(URL).get_json()[0]["sha256"]
    reference = client.get(f"/api/signals/{sha}", base_url=base_url)
    want = {name: reference.headers.getlist(name) for name in SECURITY_HEADERS}
    assert all(len(values) == 1 for name, values in want.items() if name != "Strict-Transport-Security")
    assert bool(want["Strict-Transport-Security"]) == base_url.startswith("https")
    ok = client.get(URL, base_url=base_url)
    not_modified = client.get(URL, base_url=base_url, headers={"If-None-Match": ok.headers["ETag"]})
    assert (ok.status_code, not_modified.status_code) == (200, 304)
    for resp in (ok, not_modified):
        assert {name: resp.headers.getlist(name) for name in SECURITY_HEADERS} == want
