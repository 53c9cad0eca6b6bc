"""A real gunicorn with two workers: /metrics sums both whichever worker answers (the
request series reach Prometheus' multiprocess files with each flush), and a clean
shutdown flushes every worker's in-memory counters to Redis and to those files."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pytest
import requests
from prometheus_client import CollectorRegistry
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.parser import text_string_to_metric_families

from app.metrics.request import UNMATCHED
from app.metrics.rollup import run_rollup
from tests.conftest import free_port
from tests.metrics.helpers import redis_requests, sql_requests

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
N = 40


@pytest.fixture
def flush_interval():
    return "30"  # no periodic flush: what reaches Redis comes from the exit flush


@pytest.fixture
def gunicorn(base_config, tmp_path, flush_interval):
    port = free_port()
    prom_dir = tmp_path / "prometheus"
    prom_dir.mkdir()
    (prom_dir / "counter_1.db").write_bytes(b"stale")  # a previous run's: must be emptied
    env = {
        **os.environ,
        **{k: str(v) for k, v in base_config.items()},
        "PROMETHEUS_MULTIPROC_DIR": str(prom_dir),
        "GUNICORN_BIND": f"127.0.0.1:{port}",
        "WEB_CONCURRENCY": "2",
        "GUNICORN_THREADS": "2",
        "METRICS_FLUSH_INTERVAL": flush_interval,
    }
    log = open(tmp_path / "gunicorn.log", "wb")
    proc = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "-c", "gunicorn.conf.py", "wsgi:app"],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    proc.log_path = tmp_path / "gunicorn.log"
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                requests.get(url + "/health", timeout=5)
                break
            except requests.RequestException:
                assert proc.poll() is None, proc.log_path.read_text()[-3000:]
                assert time.monotonic() < deadline, "gunicorn did not start"
                time.sleep(0.1)
        proc.url, proc.prom_dir = url, prom_dir
        yield proc
    finally:  # never leave a server behind, even when it failed to start
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(25)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(10)
        log.close()


def scrape(url: str) -> dict:
    resp = requests.get(url + "/metrics", timeout=5)
    assert resp.status_code == 200
    return {f.name: f for f in text_string_to_metric_families(resp.text)}


def samples(families: dict, name: str) -> list:
    family = families.get(name)  # multiprocess mode leaves out a family with no samples yet
    return family.samples if family is not None else []


def request_total(families: dict) -> float:
    return sum(
        s.value for s in samples(families, "flask_http_request") if s.name == "flask_http_request_total"
    )


def unmatched_count(families: dict) -> float:
    return sum(
        s.value
        for s in samples(families, "flask_http_request_duration_seconds")
        if s.name.endswith("_count") and s.labels["url_rule"] == UNMATCHED
    )


@pytest.mark.parametrize("flush_interval", ["0.2"])
def test_metrics_sum_both_workers_within_a_flush_interval(app, gunicorn):
    # ``app`` first: its cleanup (which empties Redis) runs after gunicorn's exit flush.
    for _ in range(N):  # a new connection each: reuse-port spreads them over both workers
        assert requests.get(gunicorn.url + "/nope", timeout=5).status_code == 404
    deadline = time.monotonic() + 10
    while request_total(scrape(gunicorn.url)) < N and time.monotonic() < deadline:
        time.sleep(0.1)  # at most one flush interval
    assert len(list(gunicorn.prom_dir.glob("histogram_*.db"))) >= 2  # both workers counted

    for _ in range(4):  # whichever worker answers, the sum is the same
        families = scrape(gunicorn.url)
        assert request_total(families) == N and unmatched_count(families) == N
        for name in (
            "alpine_metrics_rollup_lag_seconds",
            "alpine_metrics_buffered_keys",
            "alpine_metrics_dropped_increments",
        ):
            assert name in families, name


def test_exit_flush_counts_everything_in_redis_and_prometheus(gunicorn, app, redis_client):
    for _ in range(N):
        assert requests.get(gunicorn.url + "/nope", timeout=5).status_code == 404
    assert request_total(scrape(gunicorn.url)) == 0  # not flushed yet (30 s interval)

    gunicorn.send_signal(signal.SIGTERM)  # clean shutdown: worker_exit flushes
    gunicorn.wait(30)
    assert redis_requests(redis_client, UNMATCHED) == N, gunicorn.log_path.read_text()[-3000:]
    run_rollup(include_open=True)
    assert sql_requests(UNMATCHED) == N
    # ... and the workers' last export reached the multiprocess files a scrape sums.
    registry = CollectorRegistry()
    MultiProcessCollector(registry, path=str(gunicorn.prom_dir))
    families = {f.name: f for f in registry.collect()}
    assert request_total(families) == N and unmatched_count(families) == N
