"""The SQLite store: query plans, WAL, connections per thread, concurrent use."""

from __future__ import annotations

import itertools
import os
import threading
import time

import pytest

from argo_app.generator.engine import generate
from argo_app.store import SignalStore, build_latest_query

SHAPES = list(itertools.product([False, True], [None, "AAPL"], [None, 0.0, 60.0, 95.0, 99.5]))


def plan(conn, sql, params):
    return [row[3] for row in conn.execute("EXPLAIN QUERY PLAN " + sql, params).fetchall()]


@pytest.mark.parametrize("premium_only,symbol,min_confidence", SHAPES)
def test_every_query_shape_uses_an_index_and_no_sort(argo_pop_db, premium_only, symbol, min_confidence):
    sql, params = build_latest_query(premium_only=premium_only, symbol=symbol, min_confidence=min_confidence)
    steps = plan(argo_pop_db, sql, params + (10, 0))
    text = " | ".join(steps)
    assert "TEMP B-TREE" not in text, text
    for step in steps:
        if step.startswith("SCAN signals"):
            assert "USING INDEX" in step or "USING COVERING INDEX" in step, text
    if symbol:
        assert "ix_signals_symbol" in text, text
    elif premium_only or (min_confidence or 0) >= 95:
        # the literal threshold lets SQLite use the partial index
        assert "ix_signals_premium" in text, text
    else:
        assert "ix_signals_newest" in text, text


def test_lookup_by_hash_uses_the_unique_index(argo_pop_db):
    steps = plan(argo_pop_db, "SELECT payload FROM signals WHERE sha256 = ?", ("0" * 64,))
    assert steps == ["SEARCH signals USING INDEX sqlite_autoindex_signals_1 (sha256=?)"]


@pytest.fixture
def store(tmp_path):
    s = SignalStore(str(tmp_path / "s.db"))
    s.init_schema()
    yield s
    s.close_all()


def test_wal_mode_and_busy_timeout(store):
    conn = store.connection()
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert conn.execute("PRAGMA busy_timeout").fetchone()[0] >= 1000
    assert conn.isolation_level is None  # explicit BEGIN IMMEDIATE for writes


def test_init_schema_leaves_no_connection_open(store):
    assert store.open_connections() == 0


def test_duplicates_are_ignored_and_payload_is_the_served_json(store):
    signals = generate(50, seed=1)
    assert store.insert_many(signals) == 50
    assert store.insert_many(signals) == 0
    import json

    assert json.loads(store.get_payload(signals[0]["sha256"])) == signals[0]


def test_checkpoint_truncates_the_wal(store):
    store.insert_many(generate(500, seed=2))
    assert os.path.getsize(store.path + "-wal") > 0
    busy, _, _ = store.checkpoint("TRUNCATE")
    assert busy == 0
    assert os.path.getsize(store.path + "-wal") == 0
    with pytest.raises(ValueError):
        store.checkpoint("EVERYTHING")


def test_one_connection_per_thread_reused(store):
    main = store.connection()
    assert store.connection() is main
    seen = {}

    def worker(i):
        seen[i] = (store.connection(), store.connection())

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    conns = [a for a, b in seen.values()]
    assert all(a is b for a, b in seen.values())
    assert len({id(c) for c in conns} | {id(main)}) == 5
    # dead threads' connections are closed and no longer counted
    assert store.open_connections() == 1


def test_many_readers_one_writer_no_lock_errors(store):
    store.insert_many(generate(300, seed=3))
    batches = generate(2400, seed=4)
    errors, stop = [], threading.Event()
    reads, conns_by_thread = [0] * 8, {}
    readers_ready = threading.Barrier(9)
    finished = threading.Barrier(10)  # 8 readers + writer + main: count while all alive

    def reader(i):
        try:
            readers_ready.wait()
            while not stop.is_set():
                conns_by_thread.setdefault(i, set()).add(id(store.connection()))
                store.latest_payloads(
                    limit=20, premium_only=bool(i % 2), symbol="AAPL" if i % 3 == 0 else None
                )
                reads[i] += 1
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(repr(exc))
        finally:
            finished.wait()

    def writer():
        try:
            readers_ready.wait()
            for k in range(0, len(batches), 100):
                store.insert_many(batches[k : k + 100])
                time.sleep(0.005)
            store.checkpoint("PASSIVE")
        except Exception as exc:  # noqa: BLE001
            errors.append(repr(exc))
        finally:
            stop.set()
            finished.wait()

    threads = [threading.Thread(target=reader, args=(i,)) for i in range(8)]
    threads.append(threading.Thread(target=writer))
    for t in threads:
        t.start()
    finished.wait()
    # every worker thread is still alive here: one connection each, no more
    assert store.open_connections() <= len(threads)
    for t in threads:
        t.join()
    assert errors == []
    assert all(r > 0 for r in reads)
    assert all(len(ids) == 1 for ids in conns_by_thread.values())  # reused, never reopened
    assert len({min(ids) for ids in conns_by_thread.values()}) == 8  # never shared
    assert store.stats()["total"] == 300 + len(batches)
