"""Benchmark: Alpine's feed with the pooled Argo client vs a new connection per request.

    python bench/argo_client.py [--rounds 5] [--duration 10] [--signals 3000]

Setup (all on 127.0.0.1, created and removed by this script):

* a PostgreSQL database ``alpine_bench_feed_<random>`` on the server of
  ``BENCH_DATABASE_URL`` / ``TEST_DATABASE_URL`` (default
  postgresql://postgres@127.0.0.1:5432/test), and Redis DB 13
  (``BENCH_FEED_REDIS_URL``), flushed at start and end;
* an elite user created with the Accounts service and a token issued for it;
  the tier quota counters are cleared before every run so no run hits 429;
* Argo under gunicorn (gthread, 2 workers x 4 threads, --reuse-port) over a
  SQLite store seeded with Argo's own generator;
* two Alpine servers (``wsgi:app`` under the same gunicorn settings):
  ``pooled`` (ARGO_CLIENT_POOLED=true, the production client) and
  ``per_request`` (ARGO_CLIENT_POOLED=false: a fresh session and TCP
  connection for every Argo call -- the seed's "new client per request");
  everything else (timeouts, breaker, verification, local-copy upsert) is the
  same code.

``wrk -t2 -c16 -d<duration>s`` on ``GET /api/signals/latest?limit=10`` of each
Alpine, interleaved (pooled, per_request) over the rounds; the ratio is the
median of the per-round ratios. Then the same pair with Argo served over HTTPS
(gunicorn --certfile/--keyfile, a self-signed P-256 certificate made with the
openssl CLI; Alpine verifies it via ARGO_CA_BUNDLE), where every new
connection also pays a TLS handshake.

Upstream connections: Argo's gunicorn counts, per worker, the requests whose
``req_number`` is 1 -- the first request on a newly accepted TCP connection
(bench/argo_client_gunicorn_conf.py). The difference over a wrk run, divided
by the requests wrk completed, is "new upstream connections per request".
Alpine's per-worker request split (the wrk connections --reuse-port spread)
is recorded the same way.

``run(rounds, duration)`` returns rows for bench/run.py.
"""

from __future__ import annotations

import argparse
import functools
import json
import os
import secrets
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent
ROOT = BENCH_DIR.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.harness import Gunicorn, create_database, drop_database, require_wrk, wrk  # noqa: E402

REDIS_URL = os.environ.get("BENCH_FEED_REDIS_URL", "redis://127.0.0.1:6379/13")
CONF = str(BENCH_DIR / "argo_client_gunicorn_conf.py")
FEED_PATH = "/api/signals/latest?limit=10"
VARIANTS = ("pooled", "per_request")


# -- setup ---------------------------------------------------------------------
def alpine_env(database_url: str) -> dict:
    return {
        "APP_ENV": "production",
        "SECRET_KEY": secrets.token_hex(32),
        "JWT_SECRET_KEY": _JWT_SECRET,
        "DATABASE_URL": database_url,
        "REDIS_URL": REDIS_URL,
        "JWT_ACCESS_TOKEN_SECONDS": "7200",
    }


_JWT_SECRET = secrets.token_hex(32)


def prepare_alpine(database_url: str) -> str:
    """Schema + an elite user; returns an access token (Accounts services)."""
    import redis

    from app import create_app
    from app.accounts import tokens, users
    from app.extensions import db

    redis.Redis.from_url(REDIS_URL).flushdb()
    app = create_app({**alpine_env(database_url), "JWT_ACCESS_TOKEN_SECONDS": 7200})
    with app.app_context():
        db.create_all()
        user = users.create_user("bench-feed@example.com", secrets.token_urlsafe(16), "Bench", tier="elite")
        token = tokens.issue_tokens(user)["access_token"]
        db.session.remove()
        db.engine.dispose()
    return token


def clear_quota_counters() -> None:
    import redis

    client = redis.Redis.from_url(REDIS_URL)
    keys = list(client.scan_iter("alpine:quota:*"))
    if keys:
        client.delete(*keys)


def seed_argo(path: Path, count: int) -> None:
    from argo_app.generator import engine
    from argo_app.store import SignalStore

    store = SignalStore(str(path))
    store.init_schema()
    store.insert_many(engine.generate(count, 7, engine.DEFAULT_SYMBOLS, engine.DEFAULT_END))
    store.close_all()


def make_certificate(workdir: Path) -> tuple[Path, Path]:
    cert, key = workdir / "argo-cert.pem", workdir / "argo-key.pem"
    subprocess.run(
        [
            "openssl",
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
            "-nodes",
            "-days",
            "1",
            "-subj",
            "/CN=127.0.0.1",
            "-addext",
            "subjectAltName=IP:127.0.0.1",
            "-keyout",
            str(key),
            "-out",
            str(cert),
        ],
        check=True,
        capture_output=True,
    )
    return cert, key


# -- counting ------------------------------------------------------------------
def read_counts(directory: Path) -> dict[int, dict]:
    out = {}
    for path in directory.glob("*.json"):
        try:
            record = json.loads(path.read_text())
        except (OSError, ValueError):
            continue
        out[record["pid"]] = record
    return out


def delta(before: dict, after: dict, field: str) -> dict[int, int]:
    return {pid: rec[field] - before.get(pid, {}).get(field, 0) for pid, rec in after.items()}


def wait_for_feed(url: str, headers: dict, timeout: float = 90.0) -> None:
    """Until the feed answers fresh (workers import the app lazily, which can
    take several seconds on this box)."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            request = urllib.request.Request(url, headers=headers)
            with urllib.request.urlopen(request, timeout=30) as resp:
                body = json.loads(resp.read())
            if body["stale"] is False and body["count"] == 10:
                return
            problem = f"unexpected answer {body}"
        except OSError as exc:
            problem = repr(exc)
        if time.monotonic() > deadline:
            raise RuntimeError(f"feed at {url} not ready: {problem}")
        time.sleep(0.5)


# -- one scheme (http or https) ------------------------------------------------
def run_pair(
    scheme: str, workdir: Path, argo_db: Path, database_url: str, token: str, rounds: int, duration: int, log
) -> dict[str, list[dict]]:
    argo_counts = workdir / f"argo-{scheme}-counts"
    argo_counts.mkdir()
    argo_args = ["-c", CONF]
    alpine_extra: dict = {}
    if scheme == "https":
        cert, key = make_certificate(workdir)
        argo_args += ["--certfile", str(cert), "--keyfile", str(key)]
        alpine_extra["ARGO_CA_BUNDLE"] = str(cert)
    argo = Gunicorn(
        "argo_app:create_app()",
        env={"ARGO_DB_PATH": str(argo_db), "FEED_BENCH_COUNTS_DIR": str(argo_counts)},
        extra_args=argo_args,
        scheme=scheme,
    )
    servers: dict[str, Gunicorn] = {}
    results: dict[str, list[dict]] = {v: [] for v in VARIANTS}  # + pooled_back_to_back
    headers = {"Authorization": f"Bearer {token}"}
    with argo:
        for variant in VARIANTS:
            counts = workdir / f"alpine-{scheme}-{variant}-counts"
            counts.mkdir()
            prom = workdir / f"prom-{scheme}-{variant}"
            prom.mkdir()
            env = {
                **alpine_env(database_url),
                **alpine_extra,
                "ARGO_URL": argo.url,
                "ARGO_CLIENT_POOLED": "true" if variant == "pooled" else "false",
                "FEED_BENCH_COUNTS_DIR": str(counts),
                "PROMETHEUS_MULTIPROC_DIR": str(prom),
            }
            servers[variant] = Gunicorn("wsgi:app", env=env, extra_args=["-c", CONF]).__enter__()
            servers[variant].counts = counts
        try:
            for server in servers.values():
                for _ in range(4):  # both workers, typically
                    wait_for_feed(server.url + FEED_PATH, headers)
                clear_quota_counters()
                wrk(server.url + FEED_PATH, duration=2, headers=headers)  # warm-up, not recorded

            def measure(variant: str, server: Gunicorn) -> dict:
                clear_quota_counters()
                time.sleep(0.6)  # the previous run's last counts reach the files first
                a0, u0 = read_counts(argo_counts), read_counts(server.counts)
                res = wrk(server.url + FEED_PATH, duration=duration, headers=headers)
                time.sleep(0.6)  # the count writers run every 0.2 s
                a1, u1 = read_counts(argo_counts), read_counts(server.counts)
                argo_conns = sum(delta(a0, a1, "connections").values())
                argo_reqs = sum(delta(a0, a1, "requests").values())
                split = sorted(delta(u0, u1, "requests").values(), reverse=True)
                row = {
                    "rps": res.rps,
                    "requests": res.requests,
                    "non2xx": res.non2xx,
                    "p50_ms": res.p50_ms,
                    "p99_ms": res.p99_ms,
                    "argo_requests": argo_reqs,
                    "argo_new_connections": argo_conns,
                    "conns_per_request": argo_conns / max(res.requests, 1),
                    "alpine_worker_split": split,
                }
                log(
                    f"  {scheme} {variant:<14} {res.rps:8.1f} req/s  non-2xx {res.non2xx}"
                    f"  argo reqs {argo_reqs}  new argo conns {argo_conns}"
                    f" ({row['conns_per_request']:.4f}/req)  alpine split {split}"
                )
                return row

            for rnd in range(rounds):
                log(f"  round {rnd + 1}/{rounds}")
                for variant, server in servers.items():
                    results[variant].append(measure(variant, server))
            # Interleaving leaves the pooled client idle for a whole per_request
            # run, longer than Argo's keep-alive (5 s), so each pooled round
            # starts by re-opening its connections. One more pooled run right
            # after a (2 s, unrecorded) pooled run shows the steady state
            # without that gap.
            wrk(servers["pooled"].url + FEED_PATH, duration=2, headers=headers)
            results["pooled_back_to_back"] = [measure("pooled_back_to_back", servers["pooled"])]
        finally:
            for server in servers.values():
                server.__exit__(None, None, None)
    return results


def summarise(scheme: str, results: dict[str, list[dict]]) -> list[dict]:
    ratios = [p["rps"] / n["rps"] for p, n in zip(results["pooled"], results["per_request"], strict=True)]
    rows = []
    for variant, runs in results.items():
        conns = [r["argo_new_connections"] for r in runs]
        per_req = [r["conns_per_request"] for r in runs]
        rows.append(
            {
                "name": f"alpine->argo {scheme} {variant}",
                "rps": round(statistics.median(r["rps"] for r in runs), 1),
                "ratio": (
                    round(statistics.median(ratios), 3)
                    if variant == "pooled"
                    else 1.0
                    if variant == "per_request"
                    else None
                ),
                "non2xx": sum(r["non2xx"] for r in runs),
                "p99_ms": max(r["p99_ms"] or 0 for r in runs),
                "p50_ms": statistics.median(r["p50_ms"] or 0 for r in runs),
                "conns_per_request": round(statistics.median(per_req), 4),
                "conns_per_request_max": round(max(per_req), 4),
                "argo_new_connections": conns,
                "requests": [r["requests"] for r in runs],
                "per_round_ratio": [round(x, 3) for x in ratios] if variant == "pooled" else None,
                "alpine_worker_split": [r["alpine_worker_split"] for r in runs],
                "note": (
                    f"new Argo conns/request median {statistics.median(per_req):.4f} "
                    f"max {max(per_req):.4f}; conns per run {conns}; alpine split "
                    f"{';'.join('/'.join(map(str, r['alpine_worker_split'])) for r in runs)}"
                ),
            }
        )
    return rows


def run(rounds: int = 5, duration: int = 10, n_signals: int = 3000, log=None) -> list[dict]:
    log = log or functools.partial(print, flush=True)
    require_wrk()
    workdir = Path(tempfile.mkdtemp(prefix="feed_bench_"))
    db_name, database_url = create_database("alpine_bench_feed")
    rows: list[dict] = []
    try:
        argo_db = workdir / "argo.db"
        seed_argo(argo_db, n_signals)
        token = prepare_alpine(database_url)
        for scheme in ("http", "https"):
            log(f"== Alpine -> Argo over {scheme}")
            rows += summarise(
                scheme, run_pair(scheme, workdir, argo_db, database_url, token, rounds, duration, log)
            )
    finally:
        drop_database(db_name)
        import redis

        redis.Redis.from_url(REDIS_URL).flushdb()
        shutil.rmtree(workdir, ignore_errors=True)
    return rows


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--duration", type=int, default=10)
    parser.add_argument("--signals", type=int, default=3000)
    parser.add_argument("--json", help="also write the rows to this file")
    args = parser.parse_args(argv)
    rows = run(args.rounds, args.duration, args.signals)
    from bench.harness import format_table

    print()
    print(
        format_table(
            rows,
            [
                "name",
                "rps",
                "ratio",
                "non2xx",
                "p50_ms",
                "p99_ms",
                "conns_per_request",
                "conns_per_request_max",
            ],
        )
    )
    for row in rows:
        print(
            f"{row['name']}: per-round ratio {row['per_round_ratio']}, new argo conns "
            f"{row['argo_new_connections']}, requests {row['requests']}, "
            f"alpine split {row['alpine_worker_split']}"
        )
    if args.json:
        Path(args.json).write_text(json.dumps(rows, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
