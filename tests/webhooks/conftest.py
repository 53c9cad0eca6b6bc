"""A real Celery worker process for the webhook delivery tests (never eager mode).

Its broker is this run's Redis DB (REDIS_TEST_DB); it builds its app from the
same settings as the test's ``app``, passed through the environment.
"""

from __future__ import annotations

import pytest

from tests.hardening.servers import celery_worker, env_with

# Small enough that retries and disabling happen within seconds.
FAST_RETRIES = {
    "WEBHOOK_RETRY_BASE_SECONDS": 0.4,
    "WEBHOOK_RETRY_MAX_DELAY_SECONDS": 0.8,
    "WEBHOOK_DISABLE_AFTER_SECONDS": 3.0,
    "WEBHOOK_DISABLE_MIN_ATTEMPTS": 5,
    "WEBHOOK_TIMEOUT_SECONDS": 2.0,
    "WEBHOOK_LEASE_MARGIN_SECONDS": 1.0,
    "WEBHOOK_SWEEP_GRACE_SECONDS": 1.0,
}


@pytest.fixture
def config_overrides():
    return dict(FAST_RETRIES)


@pytest.fixture
def start_worker(base_config, config_overrides, tmp_path):
    started = []

    def start():
        env = env_with({**base_config, **config_overrides})
        proc = celery_worker(env, tmp_path / f"worker{len(started)}.log").start()
        started.append(proc)
        return proc

    yield start
    for proc in started:
        proc.kill()


@pytest.fixture
def worker(start_worker):
    return start_worker()
