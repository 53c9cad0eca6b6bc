"""Benchmark: the cached current user (GET /api/users/me) vs the same with the cache off.

    python bench/user_cache.py [--rounds 5] [--duration 10]

Variants, each its own gunicorn 27 gthread server (-w 2 --threads 4
--reuse-port, 127.0.0.1), all up at once, driven one at a time by
``wrk -t2 -c16 -d<duration>s`` with the same bearer token, interleaved per round:

  bare        bare Flask JSON endpoint (the ceiling, bench/bare_app.py)
  cache_on    the real Alpine app (wsgi:app, APP_ENV=production), USER_CACHE_ENABLED=1
  cache_off   the same app with USER_CACHE_ENABLED=0 (a user SELECT per request)

Each Alpine variant gets a PostgreSQL database of its own
(``alpine_bench_<random>_on/off`` on postgresql://postgres@127.0.0.1:5432,
schema by db.create_all(), dropped afterwards) and a Redis DB of its own
(14 and 15, flushed before and after). User-lookup queries per request are
read from PostgreSQL itself: the delta of ``seq_scan + idx_scan`` on the
``users`` table (pg_stat_user_tables) over the whole run, divided by the
requests wrk completed; the revocation check reads another table and does not
count. Backends flush table stats when idle for up to 10 s, so the final read
waits 11 s. pg_stat_statements is not preloaded on this server, hence this.

``run(rounds, duration)`` returns one dict per row (rps, ratio, queries/request).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import create_engine, text  # noqa: E402

from bench.harness import (  # noqa: E402
    Gunicorn,
    create_database,
    drop_database,
    format_table,
    interleave,
    median_rps,
    require_wrk,
    wrk,
)

REDIS = "redis://127.0.0.1:6379"
SECRET = "bench-secret-" + "x" * 40
JWT_SECRET = "bench-jwt-secret-" + "y" * 40
VARIANTS = {"cache_on": ("1", 14), "cache_off": ("0", 15)}


def _env(db_url: str, redis_db: int, cache: str) -> dict:
    return {
        "APP_ENV": "production",
        "DATABASE_URL": db_url,
        "REDIS_URL": f"{REDIS}/{redis_db}",
        "SECRET_KEY": SECRET,
        "JWT_SECRET_KEY": JWT_SECRET,
        "USER_CACHE_ENABLED": cache,
        "JWT_ACCESS_TOKEN_SECONDS": "7200",
        "ARGO_URL": "http://127.0.0.1:9",
    }


def _prepare(db_url: str, redis_db: int) -> str:
    """Schema + one user; returns an access token for them (same secret as the servers)."""
    import redis

    from app import create_app
    from app.accounts import tokens, users
    from app.extensions import db

    redis.Redis.from_url(f"{REDIS}/{redis_db}").flushdb()
    app = create_app(
        {
            **_env(db_url, redis_db, "1"),
            "USER_CACHE_ENABLED": True,
            "JWT_ACCESS_TOKEN_SECONDS": 7200,
            "PASSWORD_HASH_TIME_COST": 1,
            "PASSWORD_HASH_MEMORY_COST": 1024,
            "PASSWORD_HASH_PARALLELISM": 1,
        }
    )
    with app.app_context():
        db.create_all()
        user = users.create_user("bench@example.com", "bench password 123", "Bench User")
        token = tokens.issue_tokens(user)["access_token"]
        db.session.remove()
        db.engine.dispose()
    return token


def _user_scans(db_url: str) -> int:
    engine = create_engine(db_url)
    with engine.connect() as conn:
        conn.execute(text("SELECT pg_stat_clear_snapshot()"))
        n = conn.execute(
            text(
                "SELECT coalesce(seq_scan,0) + coalesce(idx_scan,0) "
                "FROM pg_stat_user_tables WHERE relname = 'users'"
            )
        ).scalar_one()
    engine.dispose()
    return int(n)


def run(rounds: int = 5, duration: int = 10) -> list[dict]:
    require_wrk()
    scratch = {v: create_database(f"alpine_bench_cache_{v.split('_')[1]}") for v in VARIANTS}
    names = {v: name for v, (name, _) in scratch.items()}
    urls = {v: url for v, (_, url) in scratch.items()}
    try:
        tokens = {v: _prepare(urls[v], VARIANTS[v][1]) for v in VARIANTS}
        with (
            Gunicorn("bench.bare_app:create_app()") as bare,
            Gunicorn("wsgi:app", env=_env(urls["cache_on"], 14, "1")) as on,
            Gunicorn("wsgi:app", env=_env(urls["cache_off"], 15, "0")) as off,
        ):
            servers = {"cache_on": on, "cache_off": off}
            for v, srv in servers.items():  # warm up: connections, imports, the cache
                wrk(srv.url + "/api/users/me", duration=2, headers={"Authorization": f"Bearer {tokens[v]}"})
            time.sleep(11)
            scans_before = {v: _user_scans(urls[v]) for v in VARIANTS}
            variants = {"bare": lambda d: wrk(bare.url + "/bare", duration=d)}
            for v, srv in servers.items():
                variants[v] = (
                    lambda s, t: (
                        lambda d: wrk(
                            s.url + "/api/users/me", duration=d, headers={"Authorization": f"Bearer {t}"}
                        )
                    )
                )(srv, tokens[v])
            results = interleave(variants, rounds, duration)
            time.sleep(11)  # let idle backends flush their table stats
            scans = {v: _user_scans(urls[v]) - scans_before[v] for v in VARIANTS}
    finally:
        import redis

        for _, redis_db in VARIANTS.values():
            redis.Redis.from_url(f"{REDIS}/{redis_db}").flushdb()
        for name in names.values():
            drop_database(name)

    def ratio(a, b):
        return statistics.median(x.rps / y.rps for x, y in zip(results[a], results[b], strict=True))

    rows = [
        {
            "name": "bare Flask JSON endpoint",
            "rps": median_rps(results["bare"]),
            "ratio": 1.0,
            "non2xx": sum(r.non2xx for r in results["bare"]),
            "note": "ceiling",
        }
    ]
    for v in VARIANTS:
        requests = sum(r.requests for r in results[v])
        rows.append(
            {
                "name": f"GET /api/users/me {v}",
                "rps": median_rps(results[v]),
                "ratio": ratio(v, "bare"),
                "non2xx": sum(r.non2xx for r in results[v]),
                "p99_ms": statistics.median(r.p99_ms or 0 for r in results[v]),
                "queries_per_req": scans[v] / requests if requests else None,
                "note": f"ratio = /me / bare; user lookups {scans[v]} over {requests} requests",
            }
        )
    rows.append(
        {
            "name": "cache_on / cache_off",
            "ratio": ratio("cache_on", "cache_off"),
            "note": "median of per-round ratios",
        }
    )
    return rows


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--duration", type=int, default=10)
    args = parser.parse_args(argv)
    rows = run(args.rounds, args.duration)
    print()
    print(format_table(rows, ["name", "rps", "ratio", "non2xx", "p99_ms", "queries_per_req", "note"]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
