"""Redis behind the shared circuit breaker: one failure skips Redis for
REDIS_BREAKER_SECONDS, then one trial pipeline closes it again (a real
redis-server of the test's own, started late)."""

from __future__ import annotations

import logging
import shutil
import subprocess
import time

import pytest
import redis

from app.core import redis_guard
from app.core.circuit_breaker import CLOSED, OPEN
from tests.conftest import free_port


@pytest.fixture
def late_redis():
    """A port nothing listens on yet, and a way to start redis-server there."""
    exe = shutil.which("redis-server")
    assert exe, "redis-server is needed for this test"
    port, procs = free_port(), []

    def start():
        procs.append(
            subprocess.Popen(
                [exe, "--port", str(port), "--save", "", "--appendonly", "no", "--bind", "127.0.0.1"],
                stdout=subprocess.DEVNULL,
            )
        )
        for _ in range(200):
            try:
                redis.Redis(port=port, socket_connect_timeout=0.2).ping()
                return
            except redis.ConnectionError:
                time.sleep(0.05)
        raise AssertionError("redis-server did not start")

    yield f"redis://127.0.0.1:{port}/0", start
    for proc in procs:
        proc.kill()
        proc.wait(timeout=5)


def test_one_failure_opens_for_the_window_then_a_trial_closes(base_config, _schema, late_redis, caplog):
    from app import create_app

    url, start = late_redis
    app = create_app({**base_config, "REDIS_URL": url, "REDIS_BREAKER_SECONDS": 0.5})
    built = []

    def build(pipe):
        built.append(1)
        pipe.incr("alpine:test:guard")

    with app.app_context(), caplog.at_level(logging.WARNING, logger="app.core.redis_guard"):
        breaker = redis_guard.guard().breaker
        assert redis_guard.run_pipeline(build) is None  # refused connection: fallback
        assert breaker.state == OPEN and "redis unavailable" in caplog.text
        # Open: no network at all, the caller's commands are not even queued.
        assert [redis_guard.run_pipeline(build) for _ in range(50)] == [None] * 50
        assert len(built) == 1
        # A write that must land is still attempted, and queued for replay when it fails.
        assert redis_guard.write("alpine:test:revoked", "set", b"1", 60) is False
        start()
        time.sleep(0.6)  # the window ends; the next pipeline is the trial
        assert redis_guard.run_pipeline(build) == [1]
        assert breaker.state == CLOSED
        assert redis_guard.client().get("alpine:test:revoked") == b"1"  # the queued write replayed first
        assert redis_guard.run_pipeline(build) == [2]
