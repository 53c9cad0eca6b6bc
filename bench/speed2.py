"""Benchmark: Speed II -- the feed from memory, /me, Argo latest, against the bare ceiling.

    python bench/speed2.py [--rounds 5] [--duration 10] [--profile DIR]

One run, everything interleaved (bare, Argo latest, /me, feed elite, feed
starter) under the same gunicorn settings (gthread 2 x 4, --reuse-port),
``wrk -t2 -c16``; each row's ratio is the median of its per-round ratios to
the bare Flask JSON endpoint of the same round.

Setup (all on 127.0.0.1, created and removed here): a PostgreSQL database
``alpine_bench_speed2_<random>``; a private redis-server on a free port (or
``BENCH_SPEED_REDIS_URL``, flushed at start and end); Argo over a SQLite store of 6,000 generated signals
(more than the 5,000 window); Alpine in production config
(bench/speed2_app.py: quotas counted as always, limits out of reach); one
user per tier.

Measured besides req/s:

* upstream calls per feed request: the requests Argo's gunicorn served
  during a feed run (per-worker counters, bench/argo_client_gunicorn_conf.py;
  that includes the pollers' conditional GETs) divided by the feed requests
  wrk completed in it;
* freshness: a thread stores 10 signals/s in Argo for 30 s while wrk loads
  the elite feed; eight probers ask the feed in a loop over keep-alive
  connections of their own (--reuse-port spreads them over the workers; a
  run where all of them landed on one worker says so: ``workers_probed``),
  each probe with its own ``limit`` so gunicorn's access log (``%(p)s``: the
  worker's pid) says which worker answered. A signal's delay in a worker =
  the first answer of that worker containing it, minus when it was stored;
  its delay "in every worker" is the larger of the two. The probe spacing and
  the probe's own latency under load are included: the figures are upper
  bounds;
* ``--profile DIR``: py-spy records one Alpine worker during one more /me run
  and one more feed run (``--format raw``, 100 Hz, ``--gil``: only the thread
  holding the GIL, i.e. Python CPU, not waits on sockets) and prints the
  functions with the most samples (own time and with callees).

``run(rounds, duration)`` returns rows for bench/run.py.
"""

from __future__ import annotations

import argparse
import collections
import functools
import os
import secrets
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent
ROOT = BENCH_DIR.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.argo_client import CONF, delta, read_counts, seed_argo, wait_for_feed  # noqa: E402
from bench.harness import BIN, Gunicorn, create_database, drop_database, require_wrk, start_redis, wrk  # noqa: E402

# A private redis-server on a free port (started by run()), unless one is named.
REDIS_URL = os.environ.get("BENCH_SPEED_REDIS_URL", "")
FEED = "/api/signals/latest?limit=10"
ME = "/api/users/me"
ARGO_LATEST = "/api/signals/latest?limit=10"
N_SIGNALS = 6000
FRESH_RATE = 10  # signals per second
FRESH_SECONDS = int(os.environ.get("BENCH_SPEED_FRESH_SECONDS", "30"))  # 0: skip (profiling runs)
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


def prepare_alpine(database_url: str) -> dict[str, str]:
    """Schema + one user per tier; their access tokens."""
    import redis

    from app import create_app
    from app.accounts import tokens, users
    from app.extensions import db

    redis.Redis.from_url(REDIS_URL).flushdb()
    app = create_app({**alpine_env(database_url), "JWT_ACCESS_TOKEN_SECONDS": 7200})
    out = {}
    with app.app_context():
        db.create_all()
        for tier in ("starter", "pro", "elite"):
            user = users.create_user(
                f"bench-{tier}@example.com", secrets.token_urlsafe(16), "Bench", tier=tier
            )
            out[tier] = tokens.issue_tokens(user)["access_token"]
        db.session.remove()
        db.engine.dispose()
    return out


def bearer(token: str) -> dict:
    return {"Authorization": f"Bearer {token}"}


# -- profiles --------------------------------------------------------------------
def profile(pid: int, seconds: int, out: Path) -> None:
    subprocess.run(
        [str(BIN / "py-spy"), "record", "--format", "raw", "-r", "100", "-d", str(seconds), "-p", str(pid)]
        + ["-o", str(out), "--nonblocking", "--gil"],  # --gil: CPU in Python, not waits on sockets
        capture_output=True,
        check=False,
    )


def summarise_profile(path: Path, top: int = 12) -> str:
    """Own and inclusive samples per function from py-spy's collapsed stacks,
    request-serving threads only (idle waits are left out)."""
    own: collections.Counter = collections.Counter()
    inclusive: collections.Counter = collections.Counter()
    total = 0
    if not path.exists():
        return f"(no profile at {path})"
    for line in path.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack or "handle_request" not in stack and "handle (" not in stack:
            continue
        n = int(count)
        frames = [f.split(" (")[0] for f in stack.split(";")]
        total += n
        own[frames[-1]] += n
        for name in set(frames):
            inclusive[name] += n
    if not total:
        return "(no request samples)"
    lines = [f"{total} samples in request threads; own time:"]
    lines += [f"  {n / total:6.1%}  {name}" for name, n in own.most_common(top)]
    lines.append("with callees:")
    lines += [f"  {n / total:6.1%}  {name}" for name, n in inclusive.most_common(top + 25)]
    return "\n".join(lines)


# -- freshness -------------------------------------------------------------------
def fresh_signals(count: int, start: datetime) -> list[dict]:
    from argo_app.model import make_signal

    out = []
    for i in range(count):
        entry = 200.0 + i
        out.append(
            make_signal(
                symbol=("AAPL", "MSFT", "NVDA")[i % 3],
                action="BUY" if i % 2 else "SELL",
                confidence=60.0 + i % 40,
                entry_price=entry,
                stop_loss=entry - 3 if i % 2 else entry + 3,
                take_profit=entry + 6 if i % 2 else entry - 6,
                timestamp=start + timedelta(seconds=i),
                strategy="bench_freshness",
            )
        )
    return out


def freshness(argo_db: Path, alpine: Gunicorn, access_log: Path, tokens: dict, log) -> dict:
    import requests

    from argo_app.store import SignalStore

    start = datetime.now(UTC).replace(microsecond=0) + timedelta(days=3650)  # newer than anything seeded
    signals = fresh_signals(FRESH_RATE * FRESH_SECONDS, start)
    stored_at: dict[str, float] = {}
    probes: dict[int, tuple[float, float, set[str]]] = {}  # limit -> (sent, answered, shas)
    stop = threading.Event()

    def generator() -> None:
        store = SignalStore(str(argo_db))
        t0 = time.monotonic()
        for i, s in enumerate(signals):
            time.sleep(max(0.0, t0 + i / FRESH_RATE - time.monotonic()))
            store.insert_many([s])
            stored_at[s["sha256"]] = time.monotonic()
        store.close_all()

    counter = iter(range(1, 10**9))

    def prober() -> None:
        # A keep-alive connection of its own: --reuse-port pins it to one worker;
        # eight of them make covering both likely (the access log says which).
        session = requests.Session()
        headers = bearer(tokens["elite"])
        while not stop.is_set():
            # Its id in the access log; elite answers are clamped to the newest 200
            # (20 s of signals at 10/s), so every answer can show every recent signal.
            limit = 200 + next(counter)
            sent = time.monotonic()
            try:
                resp = session.get(
                    alpine.url + "/api/signals/latest", params={"limit": limit}, headers=headers, timeout=10
                )
                body = resp.json()
                probes[limit] = (sent, time.monotonic(), {s["sha256"] for s in body.get("signals", [])})
            except (requests.RequestException, ValueError):
                pass
            time.sleep(0.01)
        session.close()

    load = threading.Thread(
        target=lambda: wrk(alpine.url + FEED, duration=FRESH_SECONDS + 2, headers=bearer(tokens["elite"]))
    )
    load.start()
    time.sleep(1)
    gen = threading.Thread(target=generator)
    probes_threads = [threading.Thread(target=prober) for _ in range(8)]
    for probe in probes_threads:
        probe.start()
    gen.start()
    gen.join()
    time.sleep(2)
    stop.set()
    for probe in probes_threads:
        probe.join()
    load.join()
    time.sleep(0.5)

    by_worker: dict[str, list[tuple[float, float, set[str]]]] = collections.defaultdict(list)
    for line in access_log.read_text().splitlines():
        pid, _, query = line.partition(" ")
        if query.startswith("limit=") and query != "limit=10":  # wrk's are limit=10
            limit = int(query[len("limit=") :].split("&")[0])
            if limit in probes:
                by_worker[pid].append(probes[limit])
    delays = []
    for sha, at in stored_at.items():
        worst = 0.0
        for series in by_worker.values():
            seen = [answered for sent, answered, shas in series if sent >= at - 2 and sha in shas]
            if not seen:
                worst = float("inf")
                break
            worst = max(worst, min(seen) - at)
        delays.append(worst)
    delays.sort()
    finite = [d for d in delays if d != float("inf")]
    p99 = delays[int(0.99 * (len(delays) - 1))]
    result = {
        "signals": len(delays),
        "workers_probed": len(by_worker),
        "probes_per_worker": sorted(len(v) for v in by_worker.values()),
        "never_seen": len(delays) - len(finite),
        "p50_s": statistics.median(delays),
        "p99_s": p99,
        "max_s": max(delays),
    }
    log(f"  freshness: {result}")
    return result


# -- the run -----------------------------------------------------------------------
def run(rounds: int = 5, duration: int = 10, log=None, profile_dir: str | None = None) -> list[dict]:
    global REDIS_URL  # a private redis-server's URL, unless BENCH_SPEED_REDIS_URL named one
    log = log or functools.partial(print, flush=True)
    require_wrk()
    workdir = Path(tempfile.mkdtemp(prefix="speed2_bench_"))
    redis_proc = None
    if not REDIS_URL:
        redis_proc, REDIS_URL = start_redis(workdir)
    db_name, database_url = create_database("alpine_bench_speed2")
    try:
        argo_db = workdir / "argo.db"
        seed_argo(argo_db, N_SIGNALS)
        tokens = prepare_alpine(database_url)
        return _run(workdir, argo_db, database_url, tokens, rounds, duration, log, profile_dir)
    finally:
        drop_database(db_name)
        if redis_proc is not None:
            redis_proc.terminate()
            redis_proc.wait(10)
        else:
            import redis

            redis.Redis.from_url(REDIS_URL).flushdb()
        shutil.rmtree(workdir, ignore_errors=True)


def _run(workdir, argo_db, database_url, tokens, rounds, duration, log, profile_dir) -> list[dict]:
    argo_counts = workdir / "argo-counts"
    argo_counts.mkdir()
    (workdir / "prom").mkdir()
    access_log = workdir / "alpine-access.log"
    bare = Gunicorn("bench.bare_app:create_app()")
    argo = Gunicorn(
        "argo_app:create_app()",
        env={"ARGO_DB_PATH": str(argo_db), "FEED_BENCH_COUNTS_DIR": str(argo_counts)},
        extra_args=["-c", CONF],
    )
    with bare, argo:
        env = {
            **alpine_env(database_url),
            "ARGO_URL": argo.url,
            "PROMETHEUS_MULTIPROC_DIR": str(workdir / "prom"),
        }
        alpine = Gunicorn("bench.speed2_app:create_app()", env=env, extra_args=["-c", CONF])
        with alpine:
            for tier in ("starter", "elite", "elite", "elite"):
                wait_for_feed(alpine.url + FEED, bearer(tokens[tier]))
            variants = {
                "bare Flask JSON endpoint (ceiling)": (bare.url + "/bare", {}),
                "Argo /api/signals/latest?limit=10": (argo.url + ARGO_LATEST, {}),
                "Alpine /api/users/me (pro)": (alpine.url + ME, bearer(tokens["pro"])),
                "Alpine feed limit=10 (elite)": (alpine.url + FEED, bearer(tokens["elite"])),
                "Alpine feed limit=10 (starter)": (alpine.url + FEED, bearer(tokens["starter"])),
            }
            for url, headers in variants.values():
                wrk(url, duration=2, headers=headers)  # warm-up, not recorded
            results: dict[str, list] = {name: [] for name in variants}
            upstream: dict[str, list[float]] = {name: [] for name in variants}
            for rnd in range(rounds):
                for name, (url, headers) in variants.items():
                    time.sleep(0.5)
                    a0 = read_counts(argo_counts)
                    res = wrk(url, duration=duration, headers=headers)
                    time.sleep(0.5)
                    argo_requests = sum(delta(a0, read_counts(argo_counts), "requests").values())
                    results[name].append(res)
                    upstream[name].append(argo_requests / max(res.requests, 1))
                    log(
                        f"  round {rnd + 1}/{rounds} {name:<40} {res.rps:9.1f} req/s  p50 {res.p50_ms} ms"
                        f"  p99 {res.p99_ms} ms  non-2xx {res.non2xx}  argo reqs {argo_requests}"
                    )
            profiles = {}
            if profile_dir:
                out = Path(profile_dir)
                out.mkdir(parents=True, exist_ok=True)
                pid = alpine.worker_pids()[0]
                for label, (url, headers) in (
                    ("me", variants["Alpine /api/users/me (pro)"]),
                    ("feed_elite", variants["Alpine feed limit=10 (elite)"]),
                ):
                    spy = threading.Thread(target=profile, args=(pid, duration - 2, out / f"{label}.txt"))
                    spy.start()
                    wrk(url, duration=duration, headers=headers)
                    spy.join()
                    profiles[label] = summarise_profile(out / f"{label}.txt")
                    log(f"== py-spy, one Alpine worker, {label}:\n{profiles[label]}")
        # Freshness: its own Alpine, with an access log naming the worker of each answer.
        alpine = Gunicorn(
            "bench.speed2_app:create_app()",
            env=env,
            extra_args=["-c", CONF, "--access-logfile", str(access_log), "--access-logformat", "%(p)s %(q)s"],
        )
        with alpine:
            for _ in range(4):
                wait_for_feed(alpine.url + FEED, bearer(tokens["elite"]))
            fresh = freshness(argo_db, alpine, access_log, tokens, log) if FRESH_SECONDS else None

    bare_runs = results["bare Flask JSON endpoint (ceiling)"]
    rows = []
    for name, runs in results.items():
        ratios = [r.rps / b.rps for r, b in zip(runs, bare_runs, strict=True)]
        row = {
            "name": name,
            "rps": round(statistics.median(r.rps for r in runs), 1),
            "ratio": round(statistics.median(ratios), 3),
            "non2xx": sum(r.non2xx for r in runs),
            "p50_ms": statistics.median(r.p50_ms or 0 for r in runs),
            "p99_ms": statistics.median(r.p99_ms or 0 for r in runs),
            "p99_ms_max": max(r.p99_ms or 0 for r in runs),
            "per_round_ratio": [round(x, 3) for x in ratios],
        }
        if "feed" in name:
            row["upstream_per_request"] = round(statistics.median(upstream[name]), 5)
        rows.append(row)
    if fresh is None:
        return rows
    rows.append(
        {
            "name": f"freshness: {FRESH_RATE}/s for {FRESH_SECONDS}s under elite feed load",
            "note": (
                f"delay until in every worker: p50 {fresh['p50_s'] * 1000:.0f} ms, p99 {fresh['p99_s'] * 1000:.0f} ms,"
                f" max {fresh['max_s'] * 1000:.0f} ms; never seen {fresh['never_seen']}/{fresh['signals']};"
                f" workers probed {fresh['workers_probed']} ({fresh['probes_per_worker']} probes)"
            ),
        }
    )
    return rows


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--duration", type=int, default=10)
    parser.add_argument("--profile", help="directory for py-spy profiles of one Alpine worker")
    args = parser.parse_args(argv)
    rows = run(args.rounds, args.duration, profile_dir=args.profile)
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
                "p99_ms_max",
                "upstream_per_request",
                "note",
            ],
        )
    )
    for row in rows:
        if "per_round_ratio" in row:
            print(f"{row['name']}: per-round ratio {row['per_round_ratio']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
