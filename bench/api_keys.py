"""Benchmark: the feed with an API key vs the same feed with a JWT.

    python bench/api_keys.py [--rounds 5] [--duration 10]

One Argo gunicorn (3,000 seeded signals) and one Alpine gunicorn (``wsgi:app``,
production config on a scratch PostgreSQL database, gthread 2 x 4,
``--reuse-port``); one elite user with a login (JWT) and an API key.
``wrk -t2 -c16`` on ``/api/signals/latest?limit=10`` with, interleaved per
round:

  jwt         Authorization: Bearer <access token>
  key         X-API-Key: alp_...
  key_bearer  Authorization: Bearer alp_...

The ratio is key / jwt per round, median over rounds (goal >= 0.95). The
quota counters are cleared before each run so no variant meets a 429.
Redis: ``BENCH_KEYS_REDIS_URL`` (default DB 12), flushed before and after.
wrk shares the cores with both servers: only the ratios mean anything.

``run(rounds, duration)`` returns one dict per row for bench/run.py.
"""

from __future__ import annotations

import argparse
import os
import secrets
import statistics
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.argo_client import FEED_PATH, seed_argo, wait_for_feed  # noqa: E402
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

REDIS_URL = os.environ.get("BENCH_KEYS_REDIS_URL", "redis://127.0.0.1:6379/12")
JWT_SECRET = secrets.token_hex(32)


def alpine_env(database_url: str) -> dict:
    return {
        "APP_ENV": "production",
        "SECRET_KEY": secrets.token_hex(32),
        "JWT_SECRET_KEY": JWT_SECRET,
        "DATABASE_URL": database_url,
        "REDIS_URL": REDIS_URL,
        "JWT_ACCESS_TOKEN_SECONDS": "7200",
    }


def prepare(database_url: str) -> tuple[str, str]:
    """Schema + an elite user; returns (access token, API key)."""
    import redis

    from app import create_app
    from app.accounts import tokens, users
    from app.extensions import db
    from app.keys import service

    redis.Redis.from_url(REDIS_URL).flushdb()
    app = create_app({**alpine_env(database_url), "JWT_ACCESS_TOKEN_SECONDS": 7200})
    with app.app_context():
        db.create_all()
        user = users.create_user("bench-keys@example.com", secrets.token_urlsafe(16), "Bench", tier="elite")
        token = tokens.issue_tokens(user)["access_token"]
        _row, key = service.create_key(user.id, "bench bot", None)
        db.session.remove()
        db.engine.dispose()
    return token, key


def clear_quota() -> None:
    import redis

    client = redis.Redis.from_url(REDIS_URL)
    keys = list(client.scan_iter("alpine:quota:*"))
    if keys:
        client.delete(*keys)


def run(rounds: int = 5, duration: int = 10, n_signals: int = 3000) -> list[dict]:
    require_wrk()
    workdir = Path(tempfile.mkdtemp(prefix="keys_bench_"))
    db_name, database_url = create_database("alpine_bench_keys")
    try:
        argo_db = workdir / "argo.db"
        seed_argo(argo_db, n_signals)
        token, key = prepare(database_url)
        headers = {
            "jwt": {"Authorization": f"Bearer {token}"},
            "key": {"X-API-Key": key},
            "key_bearer": {"Authorization": f"Bearer {key}"},
        }
        (workdir / "prom").mkdir()
        with Gunicorn("argo_app:create_app()", env={"ARGO_DB_PATH": str(argo_db)}) as argo:
            env = {
                **alpine_env(database_url),
                "ARGO_URL": argo.url,
                "PROMETHEUS_MULTIPROC_DIR": str(workdir / "prom"),
            }
            with Gunicorn("wsgi:app", env=env) as alpine:
                url = alpine.url + FEED_PATH
                for h in headers.values():
                    for _ in range(4):  # both workers, typically
                        wait_for_feed(url, h)
                    wrk(url, duration=2, headers=h)  # warm-up, not recorded

                def variant(h):
                    def once(d):
                        clear_quota()
                        return wrk(url, duration=d, headers=h)

                    return once

                results = interleave({name: variant(h) for name, h in headers.items()}, rounds, duration)
    finally:
        import redis

        redis.Redis.from_url(REDIS_URL).flushdb()
        drop_database(db_name)

    def ratio(a: str, b: str) -> float:
        return statistics.median(x.rps / y.rps for x, y in zip(results[a], results[b], strict=True))

    rows = []
    for name in headers:
        runs = results[name]
        rows.append(
            {
                "name": f"feed limit=10 elite, {name}",
                "rps": median_rps(runs),
                "ratio": ratio(name, "jwt"),
                "non2xx": sum(r.non2xx for r in runs),
                "p99_ms": statistics.median(r.p99_ms or 0 for r in runs),
                "note": "ratio = this / jwt (median of per-round ratios)",
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
    print(format_table(rows, ["name", "rps", "ratio", "non2xx", "p99_ms", "note"]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
