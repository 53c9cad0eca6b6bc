"""Redis down during traffic: requests are served, counts wait in memory (bounded)."""

from __future__ import annotations

import os
import subprocess
import sys
import time

import pytest
import redis
from prometheus_client.parser import text_string_to_metric_families

from app.metrics.request import UNMATCHED
from app.metrics.rollup import run_rollup
from tests.conftest import free_port
from tests.metrics.helpers import redis_requests, sql_requests

REDIS_SERVER = os.path.join(os.path.dirname(sys.executable), "redis-server")


class RedisProcess:
    """Our own throwaway redis-server (nothing on disk), to stop and start at will."""

    def __init__(self):
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.proc = None

    def start(self):
        self.proc = subprocess.Popen(
            [
                REDIS_SERVER,
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        client = redis.Redis.from_url(self.url, socket_connect_timeout=0.2)
        deadline = time.monotonic() + 10
        while True:
            try:
                client.ping()
                return self
            except redis.ConnectionError:
                assert time.monotonic() < deadline, "redis-server did not start"
                time.sleep(0.05)

    def stop(self):
        self.proc.terminate()
        self.proc.wait(10)

    def client(self):
        return redis.Redis.from_url(self.url, decode_responses=True)


@pytest.fixture
def own_redis():
    server = RedisProcess().start()
    yield server
    if server.proc.poll() is None:
        server.stop()


@pytest.fixture
def config_overrides(own_redis):
    return {"REDIS_URL": own_redis.url, "METRICS_MAX_BUFFERED_KEYS": 8}


def dropped(client, kind="requests") -> float:
    text = client.get("/metrics").get_data(as_text=True)
    for family in text_string_to_metric_families(text):
        if family.name == "alpine_metrics_dropped_increments":
            for sample in family.samples:
                if sample.name.endswith("_total") and sample.labels.get("kind") == kind:
                    return sample.value
    raise AssertionError("alpine_metrics_dropped_increments_total is not exported")


def scraped_request_counts(client) -> dict:
    text = client.get("/metrics").get_data(as_text=True)
    return {
        s.labels["url_rule"]: s.value
        for f in text_string_to_metric_families(text)
        if f.name == "flask_http_request_duration_seconds"
        for s in f.samples
        if s.name.endswith("_count")
    }


def test_counts_survive_a_redis_outage_within_the_bound(app, client, own_redis):
    agg = app.extensions["request_metrics"]
    client.get("/openapi.json")
    assert redis_requests(own_redis.client()) == 1

    own_redis.stop()
    started = time.monotonic()
    for _ in range(20):
        assert client.get("/openapi.json").status_code == 200
    for _ in range(5):
        assert client.get("/nope").status_code == 404
    assert time.monotonic() - started < 5  # a dead Redis does not slow requests down
    assert not agg.flush()
    assert agg.buffered_keys == 2  # bounded by distinct keys, not by requests
    # Prometheus does not wait for Redis: the series moved while it was down.
    assert scraped_request_counts(client) == {"/openapi.json": 21, UNMATCHED: 5}

    own_redis.start()  # empty: this Redis keeps nothing on disk
    assert agg.flush()
    assert agg.buffered_keys == 0
    assert redis_requests(own_redis.client()) == 25  # nothing lost while it was down
    run_rollup(include_open=True)
    assert sql_requests("/openapi.json") == 20 and sql_requests() == 25


def test_increments_past_the_bound_are_dropped_and_counted(app, client, own_redis):
    agg = app.extensions["request_metrics"]
    before = dropped(client)
    own_redis.stop()
    minute = int(time.time() // 60) - 3
    for e in range(12):  # 12 distinct keys; the buffer holds 8
        agg.record(minute, "GET", 200, f"/api/e{e}", 100)
    for e in range(12):  # more of the same: the 8 kept ones grow, the 4 others drop again
        agg.record(minute, "GET", 200, f"/api/e{e}", 100)
    assert agg.buffered_keys == 8
    assert dropped(client) - before == 8

    own_redis.start()
    assert agg.flush()
    assert redis_requests(own_redis.client()) == 16
    assert run_rollup().requests == 16
