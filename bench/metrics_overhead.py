"""Benchmark: the request-counting hook's overhead, and the rollup's speed.

    python bench/metrics_overhead.py [--rounds 5] [--duration 10] [--skip-rollup]
                                     [--mode all|hook|exporter]

Request overhead. Six gunicorn servers (bench settings: gthread 2 workers x 4
threads, --reuse-port, 127.0.0.1), started once and kept up, driven one at a
time by ``wrk -t2 -c16``, interleaved A B A B over the rounds; the ratio of
each variant to its hook-off twin is taken per round and the median reported:

  me_off / me_on / me_inline        Alpine GET /api/users/me (elite user, JWT,
                                    user cache on) with METRICS_ENABLED=0 /
                                    flush every 1 s (the default) / flush inline
                                    on every request (METRICS_FLUSH_INTERVAL=0)
  bare_off / bare_on / bare_inline  a bare Flask JSON endpoint in a bench app
                                    (bench/metrics_bench_app.py) without / with
                                    the same hook

Exporter path (issue 13; ``--mode exporter`` runs only this): the same
settings, each server with METRICS_ENABLED=1 (flush every 1 s) and its own
PROMETHEUS_MULTIPROC_DIR; the ratio of each ``*_new`` to its ``*_legacy``
twin, per round, median:

  me_legacy / me_new      Alpine GET /api/users/me with prometheus-flask-exporter's
                          per-request hooks feeding flask_http_request_* (before)
                          / the aggregate feeding them once per flush (now)
  bare_legacy / bare_new  the bench app's bare endpoint, same two ways
                          (BENCH_PROMETHEUS=legacy|new)

Rollup speed: against PostgreSQL directly (no HTTP), minutes each holding
10,000 distinct request keys (20,000 hash fields: count + latency) plus 1,000
per-user delivery fields are written to Redis, then rolled up one minute per
run; the time of each ``run_rollup()`` is reported, first into empty rows
(INSERT) and then again into the same minutes (late flushes: ON CONFLICT
UPDATE).
"""

from __future__ import annotations

import argparse
import os
import secrets
import statistics
import sys
import tempfile
import time
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent
REPO = BENCH_DIR.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from bench.harness import (  # noqa: E402
    Gunicorn,
    create_database,
    drop_database,
    format_table,
    interleave,
    median_ratio,
    require_wrk,
    wrk,
)

REDIS_URL = os.environ.get("BENCH_METRICS_REDIS_URL", "redis://127.0.0.1:6379/15")
HOOK = {
    "off": {"METRICS_ENABLED": "0"},
    "on": {"METRICS_ENABLED": "1", "METRICS_FLUSH_INTERVAL": "1"},
    "inline": {"METRICS_ENABLED": "1", "METRICS_FLUSH_INTERVAL": "0"},
}
_JWT_SECRET = secrets.token_hex(32)


def alpine_env(database_url: str) -> dict:
    return {
        "APP_ENV": "production",
        "SECRET_KEY": secrets.token_hex(32),
        "JWT_SECRET_KEY": _JWT_SECRET,
        "DATABASE_URL": database_url,
        "REDIS_URL": REDIS_URL,
        "JWT_ACCESS_TOKEN_SECONDS": "7200",
    }


def make_app(database_url: str, **overrides):
    from app import create_app

    return create_app({**alpine_env(database_url), "JWT_ACCESS_TOKEN_SECONDS": 7200, **overrides})


def prepare_alpine(database_url: str) -> str:
    """Schema + an elite user (Accounts services); returns an access token."""
    import redis

    from app.accounts import tokens, users
    from app.extensions import db

    redis.Redis.from_url(REDIS_URL).flushdb()
    app = make_app(database_url)
    with app.app_context():
        db.create_all()
        user = users.create_user(
            "bench-metrics@example.com", secrets.token_urlsafe(16), "Bench", tier="elite"
        )
        token = tokens.issue_tokens(user)["access_token"]
        db.session.remove()
        db.engine.dispose()
    return token


def request_overhead(rounds: int, duration: int, database_url: str, token: str, workdir: Path):
    servers = {}
    for hook, env in HOOK.items():
        servers[f"me_{hook}"] = Gunicorn(
            "wsgi:app",
            env={
                **alpine_env(database_url),
                **env,
                "PROMETHEUS_MULTIPROC_DIR": str(_prom_dir(workdir, f"me_{hook}")),
            },
        )
        servers[f"bare_{hook}"] = Gunicorn(
            "bench.metrics_bench_app:create_app()",
            env={
                "REDIS_URL": REDIS_URL,
                **env,
                "PROMETHEUS_MULTIPROC_DIR": str(_prom_dir(workdir, f"bare_{hook}")),
            },
        )
    headers = {"Authorization": f"Bearer {token}"}
    started = []
    try:
        for server in servers.values():
            started.append(server.__enter__())
        for name, server in servers.items():  # warm up: imports, pools, user cache
            wrk(
                server.url + ("/api/users/me" if name.startswith("me") else "/bare"),
                duration=1,
                headers=headers,
            )
        variants = {}
        for name, server in servers.items():
            path = "/api/users/me" if name.startswith("me") else "/bare"
            variants[name] = (lambda url, h: lambda d: wrk(url, duration=d, headers=h))(
                server.url + path, headers if name.startswith("me") else None
            )
        results = interleave(variants, rounds, duration)
    finally:
        for server in started:
            server.__exit__(None, None, None)
    rows = []
    for endpoint in ("me", "bare"):
        for hook in HOOK:
            name = f"{endpoint}_{hook}"
            runs = results[name]
            ratio = median_ratio(results, name, f"{endpoint}_off")
            rows.append(
                {
                    "name": name,
                    "rps": statistics.median(r.rps for r in runs),
                    "ratio": round(ratio, 3),
                    "overhead_pct": round((1 - ratio) * 100, 1) if hook != "off" else None,
                    "non2xx": sum(r.non2xx for r in runs),
                    "p99_ms": max(r.p99_ms or 0 for r in runs),
                    "note": "vs hook off" if hook != "off" else "baseline",
                }
            )
    return rows


def exporter_overhead(rounds: int, duration: int, database_url: str, token: str, workdir: Path):
    """The flask_http_request_* series: the exporter's per-request hooks vs batches per flush."""
    hook = HOOK["on"]
    servers = {}
    for way in ("legacy", "new"):
        servers[f"me_{way}"] = Gunicorn(
            "bench.metrics_bench_app:alpine_legacy()" if way == "legacy" else "wsgi:app",
            env={
                **alpine_env(database_url),
                **hook,
                "PROMETHEUS_MULTIPROC_DIR": str(_prom_dir(workdir, f"me_{way}")),
            },
        )
        servers[f"bare_{way}"] = Gunicorn(
            "bench.metrics_bench_app:create_app()",
            env={
                "REDIS_URL": REDIS_URL,
                **hook,
                "BENCH_PROMETHEUS": way,
                "PROMETHEUS_MULTIPROC_DIR": str(_prom_dir(workdir, f"bare_{way}")),
            },
        )
    headers = {"Authorization": f"Bearer {token}"}
    started = []
    try:
        for server in servers.values():
            started.append(server.__enter__())
        variants = {}
        for name, server in servers.items():
            me = name.startswith("me")
            url = server.url + ("/api/users/me" if me else "/bare")
            for _ in range(2):  # warm up: a cold worker's first requests can take seconds
                wrk(url, duration=2, headers=headers if me else None)
            variants[name] = (lambda u, h: lambda d: wrk(u, duration=d, headers=h))(
                url, headers if me else None
            )
        results = interleave(variants, rounds, duration)
        exported = {}
        for name, server in servers.items():  # both ways export the same series
            import requests

            text = requests.get(server.url + "/metrics", timeout=10).text
            exported[name] = sum(
                float(line.rsplit(" ", 1)[1])
                for line in text.splitlines()
                if line.startswith("flask_http_request_total{")
            )
    finally:
        for server in started:
            server.__exit__(None, None, None)
    rows = []
    for endpoint in ("me", "bare"):
        for way in ("legacy", "new"):
            name = f"{endpoint}_{way}"
            runs = results[name]
            ratio = median_ratio(results, name, f"{endpoint}_legacy")
            rows.append(
                {
                    "name": name,
                    "rps": statistics.median(r.rps for r in runs),
                    "ratio": round(ratio, 3),
                    "non2xx": sum(r.non2xx for r in runs),
                    "p99_ms": max(r.p99_ms or 0 for r in runs),
                    "note": (
                        "baseline: exporter hooks" if way == "legacy" else "aggregate -> Prometheus per flush"
                    )
                    + f"; per-round ratios {[round(a.rps / b.rps, 2) for a, b in zip(runs, results[f'{endpoint}_legacy'], strict=True)]}"
                    + f"; /metrics flask_http_request_total {exported[name]:.0f}",
                }
            )
    return rows


def _time_bare(calls: int, repeats: int) -> dict:
    """In this process (PROMETHEUS_MULTIPROC_DIR already set): GET /bare through each
    variant's WSGI callable (a prepared environ, no test client: what is timed is Flask
    and its hooks), the variants interleaved per repeat; best µs per request of each."""
    import timeit

    from werkzeug.test import EnvironBuilder

    from bench import metrics_bench_app

    environ = EnvironBuilder(path="/bare", method="GET").get_environ()

    def start_response(status, headers, exc_info=None):
        return None

    calls_of = {}
    for way in DIRECT_WAYS:
        os.environ["BENCH_PROMETHEUS"] = way
        wsgi = metrics_bench_app.create_app().wsgi_app

        def one(wsgi=wsgi):
            for _ in wsgi(dict(environ), start_response):
                pass

        for _ in range(500):
            one()
        calls_of[way] = one
    best = {way: float("inf") for way in DIRECT_WAYS}
    for _ in range(repeats):
        for way, one in calls_of.items():
            best[way] = min(best[way], timeit.timeit(one, number=calls) / calls * 1e6)
    return best


DIRECT_WAYS = ("none", "legacy", "new")


def exporter_direct(workdir: Path, calls: int = 5000, repeats: int = 9) -> list[dict]:
    """Without HTTP noise: GET /bare through the bench app's WSGI callable, in a fresh
    process with PROMETHEUS_MULTIPROC_DIR set (it must be before prometheus_client is
    imported), with no Prometheus / the legacy exporter hooks / the new batched series."""
    import json
    import subprocess

    env = {
        **os.environ,
        **HOOK["on"],
        "REDIS_URL": REDIS_URL,
        "PROMETHEUS_MULTIPROC_DIR": str(_prom_dir(workdir, "direct")),
        "PYTHONPATH": str(REPO),
    }
    code = f"import json; from bench.metrics_overhead import _time_bare; print(json.dumps(_time_bare({calls}, {repeats})))"
    out = subprocess.run(
        [sys.executable, "-c", code], env=env, cwd=REPO, capture_output=True, text=True, check=True
    )
    best = json.loads(out.stdout.strip().splitlines()[-1])
    return [
        {
            "name": f"bare_direct_{way}",
            "us_per_request": round(best[way], 1),
            "note": f"app.wsgi_app GET /bare, multiprocess mode, interleaved, best of {repeats} x {calls}"
            + ("" if way == "none" else f"; {best[way] - best['none']:.1f} µs over no Prometheus"),
        }
        for way in DIRECT_WAYS
    ]


def _prom_dir(workdir: Path, name: str) -> Path:
    path = workdir / f"prom_{name}"
    path.mkdir()
    return path


def rollup_speed(
    database_url: str, minutes: int = 5, keys_per_minute: int = 10_000, users: int = 1_000
) -> list[dict]:
    from app.extensions import redis_store
    from app.metrics import keys
    from app.metrics.rollup import run_rollup

    app = make_app(database_url)
    rows = []
    with app.app_context():
        client = redis_store.client
        client.flushdb()  # the bench's own DB: drop what the HTTP servers counted
        base = int(time.time() // 60) - 60
        for phase in ("insert", "update"):
            times = []
            for m in range(minutes):
                minute = base + m
                pipe = client.pipeline(transaction=False)
                mkey = keys.minute_key(minute)
                for k in range(keys_per_minute):
                    rule = f"/api/bench/{k // 6}"
                    method, sc = ("GET", "POST", "PATCH")[k % 3], 2 + (k // 3) % 2 * 3
                    pipe.hincrby(mkey, keys.request_field(keys.REQUESTS, method, sc, rule), 3)
                    pipe.hincrby(mkey, keys.request_field(keys.LATENCY, method, sc, rule), 4500)
                for u in range(users):
                    pipe.hincrby(mkey, keys.delivered_field(u), 7)
                pipe.zadd(keys.MINUTE_INDEX, {str(minute): minute})
                pipe.execute()
                assert client.hlen(mkey) == 2 * keys_per_minute + users
                t0 = time.perf_counter()
                result = run_rollup()
                times.append(time.perf_counter() - t0)
                assert result.rows == keys_per_minute and result.batches == 1, result
            rows.append(
                {
                    "name": f"rollup_{phase}",
                    "seconds_median": round(statistics.median(times), 3),
                    "seconds_max": round(max(times), 3),
                    "note": f"{minutes} minutes x ({2 * keys_per_minute} request fields = "
                    f"{keys_per_minute} rows + {users} delivery fields), PostgreSQL",
                }
            )
        from app.extensions import db

        db.session.remove()
        db.engine.dispose()
    return rows


def hook_cost(calls: int = 20_000, repeats: int = 5) -> list[dict]:
    """In-process: the three hooks (start, count, teardown) of the real aggregator,
    called directly inside a request context for /bare; best of ``repeats``. This
    is the hook's own cost per request, unaffected by HTTP noise."""
    import timeit

    from flask import Response

    from bench import metrics_bench_app

    rows = []
    for hook in ("on", "inline"):
        saved = {k: os.environ.get(k) for k in (*HOOK[hook], "REDIS_URL")}
        os.environ.update({**HOOK[hook], "REDIS_URL": REDIS_URL})
        try:
            app = metrics_bench_app.create_app()
        finally:
            for k, v in saved.items():
                if v is None:
                    os.environ.pop(k, None)
                else:
                    os.environ[k] = v
        start = app.before_request_funcs[None][0]
        count = app.after_request_funcs[None][-1]
        teardown = app.teardown_request_funcs[None][-1]
        response = Response("{}")
        with app.test_request_context("/bare"):
            from flask import request

            request.url_rule = next(r for r in app.url_map.iter_rules() if r.rule == "/bare")

            # the hooks are bound now, for this iteration's app (not looked up late)
            def one(start=start, count=count, response=response, teardown=teardown):
                start()
                count(response)
                teardown(None)

            n = calls if hook == "on" else calls // 20
            best = min(timeit.timeit(one, number=n) / n for _ in range(repeats))
        rows.append(
            {
                "name": f"hook_direct_{hook}",
                "us_per_request": round(best * 1e6, 2),
                "note": f"the three hooks called directly, best of {repeats} x {n}",
            }
        )
    return rows


def run(rounds: int = 5, duration: int = 10, rollup: bool = True, mode: str = "all") -> list[dict]:
    require_wrk()
    name, database_url = create_database("alpine_bench_metrics")
    workdir = Path(tempfile.mkdtemp(prefix="metrics_bench_"))
    try:
        token = prepare_alpine(database_url)
        rows = []
        if mode in ("all", "hook"):
            rows += request_overhead(rounds, duration, database_url, token, workdir)
            rows += hook_cost()
        if mode in ("all", "exporter"):
            rows += exporter_overhead(rounds, duration, database_url, token, workdir)
            rows += exporter_direct(workdir)
        if rollup and mode in ("all", "hook"):
            rows += rollup_speed(database_url)
        return rows
    finally:
        import shutil

        import redis

        drop_database(name)
        shutil.rmtree(workdir, ignore_errors=True)
        redis.Redis.from_url(REDIS_URL).flushdb()  # leave the bench's Redis DB empty


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--duration", type=int, default=10)
    parser.add_argument("--skip-rollup", action="store_true")
    parser.add_argument("--mode", choices=("all", "hook", "exporter"), default="all")
    args = parser.parse_args(argv)
    rows = run(args.rounds, args.duration, rollup=not args.skip_rollup, mode=args.mode)
    print()
    print(
        format_table(
            rows,
            [
                "name",
                "rps",
                "ratio",
                "overhead_pct",
                "non2xx",
                "p99_ms",
                "us_per_request",
                "seconds_median",
                "seconds_max",
                "note",
            ],
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
