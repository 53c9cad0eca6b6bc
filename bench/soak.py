"""Soak: a steady request rate against Alpine for a minute, 10% of requests raising
inside a handler; SQL connections checked out, sampled every second, must end at 0.

    python bench/soak.py [--rounds 1] [--duration 60] [--rate 200]

Alpine (``bench/alpine_faulty.py``: the real app + a raising route + a pool probe)
runs under gunicorn 27 gthread ``-w 2 --threads 4 --reuse-port`` on 127.0.0.1, on a
PostgreSQL database of its own (``alpine_bench_soak_<random>``, dropped afterwards)
and Redis DB 10 (flushed before and after), APP_ENV=production.

Load: an open-loop generator (wrk2 is not available): request *i* is due at
``t0 + i / rate``; 24 threads with keep-alive sessions take the next due request
and send it when it is due. Latency is measured from the due time, so a stall
shows up in p99 instead of silently lowering the rate (no coordinated omission).
The mix, by ``i % 10``: 1x ``/_soak/raise`` (500), 4x ``GET /api/users/me``,
2x ``GET /api/admin/users?per_page=5``, 1x ``GET /api/admin/security`` (admin),
1x ``GET /nope`` (404), 1x ``GET /api/admin/users?per_page=0`` (422).

Sampled every second: ``pool.checkedout()`` of each gunicorn worker (``/_soak/pool``
on fresh connections until every worker has answered; summed) and, from
``pg_stat_activity`` for the bench database, connections open / active / idle in
transaction (the sampler's own connection excluded). After the load: the same,
which must read 0 checked out, 0 active, 0 idle in transaction.

``run(rounds, duration)`` returns one row per round for bench/run.py.
"""

from __future__ import annotations

import argparse
import json
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import requests  # noqa: E402
from sqlalchemy import create_engine, text  # noqa: E402

from bench.harness import Gunicorn, create_database, drop_database, format_table  # noqa: E402

REDIS_URL = "redis://127.0.0.1:6379/10"
SECRET = "bench-soak-secret-" + "s" * 40
JWT_SECRET = "bench-soak-jwt-secret-" + "j" * 40
THREADS = 24
DEFAULT_RATE = 200  # sustainable on the 2-core box with the generator on it (300 queued up)
RESULTS = Path(__file__).resolve().parent / "results"


def _env(db_url: str) -> dict:
    return {
        "APP_ENV": "production",
        "DATABASE_URL": db_url,
        "REDIS_URL": REDIS_URL,
        "SECRET_KEY": SECRET,
        "JWT_SECRET_KEY": JWT_SECRET,
        "JWT_ACCESS_TOKEN_SECONDS": "7200",
        "ARGO_URL": "http://127.0.0.1:9",
    }


def _prepare(db_url: str) -> tuple[str, str]:
    """Schema, a user and an admin; returns their access tokens."""
    import redis

    from app import create_app
    from app.accounts import tokens, users
    from app.extensions import db

    redis.Redis.from_url(REDIS_URL).flushdb()
    app = create_app(
        {
            **_env(db_url),
            "JWT_ACCESS_TOKEN_SECONDS": 7200,
            "PASSWORD_HASH_TIME_COST": 1,
            "PASSWORD_HASH_MEMORY_COST": 1024,
            "PASSWORD_HASH_PARALLELISM": 1,
        }
    )
    with app.app_context():
        db.create_all()
        user = users.create_user("soak@example.com", "soak password 123", "Soak User", tier="pro")
        admin = users.create_user("soak-admin@example.com", "soak password 123", "Soak Admin", is_admin=True)
        result = tokens.issue_tokens(user)["access_token"], tokens.issue_tokens(admin)["access_token"]
        db.session.remove()
        db.engine.dispose()
    return result


def _mix(user_token: str, admin_token: str) -> list[tuple[str, dict, int]]:
    user = {"Authorization": f"Bearer {user_token}"}
    admin = {"Authorization": f"Bearer {admin_token}"}
    return [
        ("/_soak/raise", {}, 500),
        ("/api/users/me", user, 200),
        ("/api/users/me", user, 200),
        ("/api/users/me", user, 200),
        ("/api/users/me", user, 200),
        ("/api/admin/users?per_page=5", admin, 200),
        ("/api/admin/users?per_page=5", admin, 200),
        ("/api/admin/security", admin, 200),
        ("/nope", {}, 404),
        ("/api/admin/users?per_page=0", admin, 422),
    ]


class Sampler:
    """Every second: per-worker pool.checkedout() and pg_stat_activity for the bench DB."""

    def __init__(self, server: Gunicorn, db_url: str):
        self.server, self.db_url = server, db_url
        self.samples: list[dict] = []
        self._stop = threading.Event()
        self._engine = create_engine(db_url, pool_size=1, max_overflow=0)

    def pool(self) -> dict[int, int]:
        """pid -> checkedout, asking on new connections until every worker answered."""
        wanted, seen = set(self.server.worker_pids()), {}
        for _ in range(60):
            resp = requests.get(self.server.url + "/_soak/pool", timeout=5, headers={"Connection": "close"})
            body = resp.json()
            seen[body["pid"]] = body["checkedout"]
            if wanted <= set(seen):
                break
        return seen

    def pg(self) -> dict:
        with self._engine.connect() as conn:
            row = conn.execute(
                text(
                    "SELECT count(*), count(*) FILTER (WHERE state = 'active'), "
                    "count(*) FILTER (WHERE state LIKE 'idle in transaction%') FROM pg_stat_activity "
                    "WHERE datname = current_database() AND pid <> pg_backend_pid()"
                )
            ).one()
        return {"pg_open": int(row[0]), "pg_active": int(row[1]), "pg_idle_in_txn": int(row[2])}

    def sample(self, t: float) -> dict:
        pools = self.pool()
        entry = {"t": round(t, 1), "checkedout": sum(pools.values()), "workers": len(pools), **self.pg()}
        self.samples.append(entry)
        return entry

    def loop(self, t0: float) -> None:
        while not self._stop.wait(1.0):
            self.sample(time.monotonic() - t0)

    def stop(self) -> None:
        self._stop.set()

    def close(self) -> None:
        self._engine.dispose()


def _soak(server: Gunicorn, mix, rate: int, duration: int) -> dict:
    total = rate * duration
    counter = iter(range(total))
    lock = threading.Lock()
    latencies, statuses, unexpected, failures = [], {}, [], []
    t0 = time.monotonic() + 0.5

    def worker():
        with requests.Session() as session:
            while True:
                with lock:
                    i = next(counter, None)
                if i is None:
                    return
                due = t0 + i / rate
                delay = due - time.monotonic()
                if delay > 0:
                    time.sleep(delay)
                path, headers, expected = mix[i % len(mix)]
                try:
                    resp = session.get(server.url + path, headers=headers, timeout=30)
                except requests.RequestException as exc:
                    with lock:
                        failures.append(repr(exc))
                    continue
                done = time.monotonic()
                with lock:
                    latencies.append(done - due)
                    statuses[resp.status_code] = statuses.get(resp.status_code, 0) + 1
                    if resp.status_code != expected or not resp.headers.get("Content-Type", "").startswith(
                        "application/json"
                    ):
                        unexpected.append((path, resp.status_code))

    threads = [threading.Thread(target=worker) for _ in range(THREADS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.monotonic() - t0
    latencies.sort()
    return {
        "requests": len(latencies),
        "elapsed": elapsed,
        "statuses": statuses,
        "unexpected": unexpected,
        "failures": failures,
        "p50_ms": latencies[len(latencies) // 2] * 1000,
        "p99_ms": latencies[int(len(latencies) * 0.99) - 1] * 1000,
        "max_ms": latencies[-1] * 1000,
    }


def run(rounds: int = 1, duration: int = 60, rate: int = DEFAULT_RATE) -> list[dict]:
    name, db_url = create_database("alpine_bench_soak")
    rows, log = [], []
    try:
        mix = _mix(*_prepare(db_url))
        with Gunicorn("bench.alpine_faulty:build()", env=_env(db_url)) as server:
            for path, headers, _ in mix:  # warm up every worker's imports and connections
                for _ in range(8):
                    requests.get(server.url + path, headers=headers, timeout=10)
            for r in range(rounds):
                sampler = Sampler(server, db_url)
                t0 = time.monotonic()
                thread = threading.Thread(target=sampler.loop, args=(t0,), daemon=True)
                thread.start()
                result = _soak(server, mix, rate, duration)
                sampler.stop()
                thread.join(10)
                time.sleep(1.0)  # the last responses are out; teardowns have run
                final = sampler.sample(time.monotonic() - t0)
                sampler.close()
                during = sampler.samples[:-1]
                row = {
                    "name": f"soak {duration}s @ {rate}/s, 10% raising in a handler",
                    "rps": result["requests"] / result["elapsed"],
                    "target_rps": rate,
                    "requests": result["requests"],
                    "non2xx": sum(n for s, n in result["statuses"].items() if s >= 300),
                    "unexpected": len(result["unexpected"]) + len(result["failures"]),
                    "p50_ms": result["p50_ms"],
                    "p99_ms": result["p99_ms"],
                    "max_ms": result["max_ms"],
                    "checkedout_max": max((s["checkedout"] for s in during), default=None),
                    "checkedout_final": final["checkedout"],
                    "pg_open_max": max((s["pg_open"] for s in during), default=None),
                    # Between two statements of one request a connection is briefly "idle in
                    # transaction" (autobegin); a leak is one that stays so after the load.
                    "pg_idle_in_txn_max": max((s["pg_idle_in_txn"] for s in during), default=None),
                    "pg_idle_in_txn_final": final["pg_idle_in_txn"],
                    "pg_active_final": final["pg_active"],
                    "statuses": result["statuses"],
                }
                row["note"] = (
                    f"500s {result['statuses'].get(500, 0)} (all from the raising route); "
                    f"unexpected {row['unexpected']}; checked out max "
                    f"{row['checkedout_max']} -> final {row['checkedout_final']}; "
                    f"pg idle-in-txn final {row['pg_idle_in_txn_final']}"
                )
                rows.append(row)
                log.append(
                    {
                        "round": r + 1,
                        "row": row,
                        "samples": sampler.samples,
                        "unexpected": result["unexpected"][:20],
                        "failures": result["failures"][:20],
                    }
                )
                print(
                    f"  round {r + 1}/{rounds}: {row['rps']:.1f} req/s, p99 {row['p99_ms']:.1f} ms, "
                    f"checked out max {row['checkedout_max']} final {row['checkedout_final']}",
                    flush=True,
                )
    finally:
        import redis

        redis.Redis.from_url(REDIS_URL).flushdb()
        drop_database(name)
        RESULTS.mkdir(exist_ok=True)
        (RESULTS / "soak.json").write_text(json.dumps(log, indent=1))
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("--duration", type=int, default=60)
    parser.add_argument("--rate", type=int, default=DEFAULT_RATE)
    args = parser.parse_args(argv)
    rows = run(args.rounds, args.duration, args.rate)
    print(
        format_table(
            rows,
            [
                "name",
                "rps",
                "target_rps",
                "requests",
                "non2xx",
                "unexpected",
                "p50_ms",
                "p99_ms",
                "checkedout_max",
                "checkedout_final",
                "pg_open_max",
                "pg_idle_in_txn_max",
                "pg_idle_in_txn_final",
                "pg_active_final",
            ],
        )
    )
    bad = [
        r
        for r in rows
        if r["checkedout_final"] != 0 or r["unexpected"] or r["pg_idle_in_txn_final"] or r["pg_active_final"]
    ]
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
