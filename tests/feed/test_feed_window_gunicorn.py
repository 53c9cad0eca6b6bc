"""The feed window in production shape: Alpine under gunicorn (2 workers), Argo under gunicorn.

Which worker answered is read from gunicorn's access log (``%(p)s`` is the
worker's pid); each request carries its own ``limit`` so a log line names it.
"""

from __future__ import annotations

import time

import pytest
import requests

from argo_app import create_app as create_argo
from tests.conftest import free_port
from tests.feed_helpers import crafted, newest_first
from tests.hardening.servers import BIN, Proc, RedisServer, argo_gunicorn, env_with, wait_http

pytestmark = pytest.mark.slow
URL_PATH = "/api/signals/latest"


class FeedStack:
    def __init__(self, tmp_path, base_config):
        self.tmp = tmp_path
        self.redis = RedisServer(tmp_path).start()
        self.argo_port, self.alpine_port = free_port(), free_port()
        self.argo_url = f"http://127.0.0.1:{self.argo_port}"
        self.url = f"http://127.0.0.1:{self.alpine_port}"
        self.argo_db = tmp_path / "argo.db"
        self.signals = crafted(120, premium_every=5)
        self.insert(self.signals)
        self.argo_env = env_with({}, ARGO_DB_PATH=self.argo_db)
        (tmp_path / "prom").mkdir()
        config = {**base_config, "REDIS_URL": self.redis.url, "ARGO_URL": self.argo_url}
        env = env_with(
            config,
            PROMETHEUS_MULTIPROC_DIR=tmp_path / "prom",
            FEED_POLL_INTERVAL="0.25",  # the production poller (the test config has none)
            GUNICORN_BIND=f"127.0.0.1:{self.alpine_port}",
            WEB_CONCURRENCY="2",
            GUNICORN_THREADS="2",
        )
        self.access_log = tmp_path / "access.log"
        argv = [str(BIN / "gunicorn"), "-c", "gunicorn.conf.py"]
        argv += ["--access-logfile", str(self.access_log), "--access-logformat", "%(p)s %(q)s"]
        self.alpine = Proc([*argv, "wsgi:app"], env, tmp_path / "alpine.log").start()
        self.argo = self.start_argo()
        wait_http(self.url + "/health", self.alpine)

    def insert(self, signals) -> None:
        argo = create_argo({"ARGO_DB_PATH": str(self.argo_db)})
        argo.extensions["argo_store"].insert_many(signals)
        argo.extensions["argo_store"].close_all()

    def start_argo(self) -> Proc:
        proc = argo_gunicorn(self.argo_env, self.argo_port, self.tmp / "argo.log", self.tmp).start()
        wait_http(self.argo_url + "/health", proc)
        return proc

    def close(self) -> None:
        for proc in (self.alpine, self.argo):
            proc.kill()
        self.redis.kill()


@pytest.fixture
def feed_stack(tmp_path, base_config, _schema):
    stack = FeedStack(tmp_path, base_config)
    yield stack
    stack.close()


class Sampler:
    """Sequential feed requests, each on a new connection (so --reuse-port spreads
    them over both workers), each with its own ``limit`` to find it in the log."""

    def __init__(self, stack: FeedStack, headers: dict):
        self.stack, self.headers = stack, headers
        self.n = 0
        self.samples: dict[int, tuple[float, dict]] = {}  # limit -> (time, body)

    def run(self, seconds: float, t0: float) -> None:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            self.n += 1
            limit = 10 + self.n  # unique per request (clamped to 200 in the answer, not in the log)
            resp = requests.get(
                self.stack.url + URL_PATH,
                params={"limit": limit},
                headers={**self.headers, "Connection": "close"},
                timeout=10,
            )
            assert resp.status_code == 200, resp.text
            self.samples[limit] = (time.monotonic() - t0, resp.json())
            time.sleep(0.01)

    def by_worker(self) -> dict[str, list[tuple[float, dict]]]:
        time.sleep(0.3)  # the access log is written after the response
        out: dict[str, list[tuple[float, dict]]] = {}
        for line in self.stack.access_log.read_text().splitlines():
            pid, _, query = line.partition(" ")
            if not query.startswith("limit="):
                continue
            limit = int(query.split("=", 1)[1].split("&")[0])
            if limit in self.samples:
                out.setdefault(pid, []).append(self.samples.pop(limit))
        for series in out.values():
            series.sort(key=lambda item: item[0])
        return out


def _settled_at(series, ok) -> float | None:
    """When the worker's answers became ``ok`` for good (None: never, or not for good)."""
    settled = None
    for at, body in series:
        if ok(body):
            settled = at if settled is None else settled
        else:
            settled = None
    return settled


def test_new_signals_reach_both_workers_and_stale_flips_both_ways(feed_stack, auth):
    user = auth.user(tier="elite")
    stack = feed_stack
    sampler = Sampler(stack, user.headers)
    newest = newest_first(stack.signals)[0]["sha256"]

    # Warm up: both workers serve the window.
    sampler.run(3.0, time.monotonic())
    warm = sampler.by_worker()
    assert len(warm) == 2, f"--reuse-port sent every connection to one worker: {list(warm)}"
    for pid, series in warm.items():
        assert series[-1][1]["stale"] is False and series[-1][1]["signals"][0]["sha256"] == newest, pid

    # 1. A new signal in Argo: in both workers' feeds within 2 s.
    fresh = crafted(121, premium_every=5)[-1]
    t0 = time.monotonic()
    stack.insert([fresh])
    sampler.run(3.0, t0)
    for pid, series in sampler.by_worker().items():
        at = _settled_at(series, lambda b: b["signals"][0]["sha256"] == fresh["sha256"])
        assert at is not None and at < 2.0, (pid, at)

    # 2. Argo goes away: stale within 3 s in both workers (never an error).
    t0 = time.monotonic()
    stack.argo.kill()
    sampler.run(4.0, t0)
    for pid, series in sampler.by_worker().items():
        at = _settled_at(series, lambda b: b["stale"] is True)
        assert at is not None and at < 3.0, (pid, at)

    # 3. ... and back: fresh again within 3 s of its return.
    stack.argo = stack.start_argo()
    t0 = time.monotonic()
    sampler.run(4.0, t0)
    for pid, series in sampler.by_worker().items():
        at = _settled_at(series, lambda b: b["stale"] is False)
        assert at is not None and at < 3.0, (pid, at)
