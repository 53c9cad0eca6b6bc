"""The rollup is exactly once: concurrent runs, redelivery, late flushes, kills.

The kill tests run the rollup in a real Celery worker process, paused (via
METRICS_ROLLUP_PAUSE, honoured only under TESTING) at the two dangerous
instants — after claiming the minutes, and after the SQL commit but before the
processing key is deleted — and SIGKILL it there.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time

import pytest

from app.extensions import db
from app.metrics import keys
from app.metrics.models import RollupBatch
from app.metrics.rollup import _claim_closed_minutes, run_rollup
from tests.metrics.helpers import redis_requests, sql_delivered, sql_requests

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def seed(app, minutes: int = 6, endpoints: int = 20, per: int = 3, ago: int = 10) -> int:
    """Count requests into closed minutes through the real aggregator; returns how many."""
    agg = app.extensions["request_metrics"]
    base = int(time.time() // 60) - ago - minutes
    n = 0
    for m in range(minutes):
        for e in range(endpoints):
            for _ in range(per):
                agg.record(base + m, "GET", 200 if e % 4 else 500, f"/api/e{e}", 250, user_id=e, delivered=1)
                n += 1
    assert agg.flush()
    return n


def test_redelivered_rollup_counts_once(app, redis_client):
    n = seed(app)
    first = run_rollup()
    again = run_rollup()  # the broker redelivers the task
    assert first.requests == n and again.requests == 0
    assert sql_requests() == n and sql_delivered() == n
    assert redis_requests(redis_client) == 0


def test_concurrent_rollups_count_once(app, redis_client):
    n = seed(app, minutes=10, endpoints=40)
    barrier = threading.Barrier(4)
    results, errors = [], []

    def worker():
        try:
            with app.app_context():
                barrier.wait()
                results.append(run_rollup())
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert not errors
    assert sum(r.requests for r in results) == n
    assert sum(r.batches for r in results) == 10
    db.session.expire_all()
    assert sql_requests() == n and sql_delivered() == n
    assert db.session.query(RollupBatch).count() == 10


def test_late_flush_into_a_rolled_up_minute_is_added(app, redis_client):
    agg = app.extensions["request_metrics"]
    minute = int(time.time() // 60) - 5
    for _ in range(4):
        agg.record(minute, "GET", 200, "/api/late", 100)
    agg.flush()
    assert run_rollup().requests == 4
    for _ in range(3):  # a slow process flushes the same minute afterwards
        agg.record(minute, "GET", 200, "/api/late", 100)
    agg.flush()
    assert redis_client.zrange(keys.MINUTE_INDEX, 0, -1) == [str(minute)]
    assert run_rollup().requests == 3
    assert sql_requests("/api/late") == 7
    assert db.session.query(RollupBatch).count() == 2


def test_orphaned_processing_keys_are_committed_by_the_next_run(app, redis_client):
    n = seed(app)
    claimed = _claim_closed_minutes(redis_store_client(app), include_open=False)
    assert len(claimed) == 6 and redis_client.zcard(keys.MINUTE_INDEX) == 0
    # ... and the rollup that claimed them died here.
    result = run_rollup()
    assert result.requests == n and sql_requests() == n
    assert redis_client.scard(keys.PROCESSING_SET) == 0


def redis_store_client(app):
    from app.extensions import redis_store

    return redis_store.client


# -- a real Celery worker, SIGKILLed at the dangerous instants ---------------------------


def start_worker(base_config, pause: str) -> subprocess.Popen:
    env = {
        **os.environ,
        **{k: str(v) for k, v in base_config.items()},
        "METRICS_ROLLUP_PAUSE": pause,
        "PYTHONPATH": ROOT,
    }
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "workers.celery_app",
            "worker",
            "--pool=solo",
            "--without-heartbeat",
            "--without-mingle",
            "--without-gossip",
            "--loglevel=WARNING",
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )


def kill_at_pause(app, base_config, redis_client, point: str) -> None:
    worker = start_worker(base_config, f"{point}:60")
    try:
        app.extensions["celery"].send_task("metrics.rollup")
        deadline = time.monotonic() + 30
        while not redis_client.exists(f"{keys.PREFIX}paused:{point}"):
            assert worker.poll() is None, worker.stderr.read().decode()[-2000:]
            assert time.monotonic() < deadline, "the worker never reached the pause point"
            time.sleep(0.05)
        worker.send_signal(signal.SIGKILL)
        worker.wait(10)
    finally:
        if worker.poll() is None:
            worker.kill()
            worker.wait(10)
        worker.stderr.close()


@pytest.mark.parametrize("point", ["after_claim", "after_commit"])
def test_worker_killed_mid_rollup_loses_and_doubles_nothing(app, base_config, redis_client, point):
    n = seed(app)
    kill_at_pause(app, base_config, redis_client, point)

    db.session.expire_all()
    assert redis_client.scard(keys.PROCESSING_SET) >= 1  # the dead worker's claims
    if point == "after_claim":
        assert sql_requests() == 0
    else:  # one batch committed, its processing key not yet deleted
        assert 0 < sql_requests() < n
    assert sql_requests() + redis_requests(redis_client) >= n

    result = run_rollup()  # the next (beat) run
    assert result.already_done == (1 if point == "after_commit" else 0)
    assert sql_requests() == n and sql_delivered() == n
    assert redis_requests(redis_client) == 0
    assert redis_client.scard(keys.PROCESSING_SET) == 0
