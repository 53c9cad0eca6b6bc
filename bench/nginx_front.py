"""Benchmark: Alpine through the shipped nginx front vs gunicorn alone.

    python bench/nginx_front.py [--rounds 5] [--duration 10]

One Argo gunicorn (3,000 seeded signals), one Alpine gunicorn (``wsgi:app``,
production config on a scratch PostgreSQL database, gthread 2 x 4,
``--reuse-port``, ``TRUSTED_PROXY_HOPS=1``) and nginx in front of it, rendered
from deploy/nginx.conf.template with its shipped defaults except the loopback
ports (so ``worker_processes auto``, upstream keep-alive, no access log).
``wrk -t2 -c16`` on ``/health`` and on the feed (``/api/signals/latest?limit=10``,
an elite user) straight at gunicorn and through nginx, the four interleaved per
round; the ratio is front / alone per round, median over rounds. The per-worker
request split of Alpine is recorded (bench/argo_client_gunicorn_conf.py).
nginx, gunicorn, Argo and wrk share the machine's cores: only the ratios mean
anything.

``run(rounds, duration)`` returns one dict per row for bench/run.py.
"""

from __future__ import annotations

import argparse
import functools
import os
import pwd
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent
ROOT = BENCH_DIR.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.argo_client import (  # noqa: E402
    CONF,
    FEED_PATH,
    REDIS_URL,
    alpine_env,
    clear_quota_counters,
    delta,
    prepare_alpine,
    read_counts,
    seed_argo,
    wait_for_feed,
)
from bench.harness import Gunicorn, create_database, drop_database, format_table, free_port, require_wrk, wrk  # noqa: E402
from deploy.render_nginx import render  # noqa: E402

PATHS = {"health": "/health", "feed": FEED_PATH}


class Nginx:
    """The shipped front, from a temp prefix, in the foreground of its own process group."""

    def __init__(self, workdir: Path, alpine_port: int, argo_port: int):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        conf = render(
            workdir,
            ALPINE_LISTEN=f"127.0.0.1:{self.port}",
            ARGO_LISTEN=f"127.0.0.1:{free_port()}",
            ALPINE_UPSTREAM=f"127.0.0.1:{alpine_port}",
            ARGO_UPSTREAM=f"127.0.0.1:{argo_port}",
        )
        binary = shutil.which("nginx") or shutil.which("nginx", path="/usr/sbin:/usr/local/sbin")
        if not binary:
            raise SystemExit("nginx is not installed: `apt-get install -y nginx-light` (Debian)")
        directives = "daemon off;"
        if os.geteuid() == 0:  # workers would be "nobody", locked out of the 0700 temp dir
            directives += f" user {pwd.getpwuid(0).pw_name};"
        self.argv = [binary, "-p", f"{workdir}/", "-c", str(conf), "-e", "stderr", "-g", directives]
        self.log = workdir / "nginx.log"
        self.proc = None

    def __enter__(self) -> Nginx:
        with open(self.log, "ab") as log:
            self.proc = subprocess.Popen(
                self.argv, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
            )
        deadline = time.monotonic() + 10
        while True:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.5).close()
                return self
            except OSError:
                if self.proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError("nginx did not start:\n" + self.log.read_text()[-3000:])
                time.sleep(0.05)

    def __exit__(self, *exc) -> None:
        if self.proc and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            self.proc.wait(20)


def run(rounds: int = 5, duration: int = 10, n_signals: int = 3000, log=None) -> list[dict]:
    log = log or functools.partial(print, flush=True)
    require_wrk()
    workdir = Path(tempfile.mkdtemp(prefix="front_bench_"))
    db_name, database_url = create_database("alpine_bench_front")
    results: dict[str, list[dict]] = {}
    try:
        argo_db = workdir / "argo.db"
        seed_argo(argo_db, n_signals)
        token = prepare_alpine(database_url)
        headers = {"Authorization": f"Bearer {token}"}
        counts, prom = workdir / "counts", workdir / "prom"
        counts.mkdir()
        prom.mkdir()
        (workdir / "nginx").mkdir()
        argo = Gunicorn("argo_app:create_app()", env={"ARGO_DB_PATH": str(argo_db)})
        with argo:
            env = {
                **alpine_env(database_url),
                "ARGO_URL": argo.url,
                "TRUSTED_PROXY_HOPS": "1",
                "FEED_BENCH_COUNTS_DIR": str(counts),
                "PROMETHEUS_MULTIPROC_DIR": str(prom),
            }
            with (
                Gunicorn("wsgi:app", env=env, extra_args=["-c", CONF]) as alpine,
                Nginx(workdir / "nginx", alpine.port, argo.port) as front,
            ):
                bases = {"alone": alpine.url, "front": front.url}
                for base in bases.values():
                    for _ in range(4):  # both workers, typically
                        wait_for_feed(base + FEED_PATH, headers)
                    for path in PATHS.values():  # warm-up, not recorded
                        wrk(base + path, duration=2, headers=headers)

                def measure(name: str, url: str) -> dict:
                    clear_quota_counters()
                    time.sleep(0.6)  # the count writers run every 0.2 s
                    before = read_counts(counts)
                    res = wrk(url, duration=duration, headers=headers)
                    time.sleep(0.6)
                    split = sorted(delta(before, read_counts(counts), "requests").values(), reverse=True)
                    log(
                        f"  {name:<14} {res.rps:8.1f} req/s  non-2xx {res.non2xx}  "
                        f"p99 {res.p99_ms} ms  alpine split {split}"
                    )
                    return {
                        "rps": res.rps,
                        "non2xx": res.non2xx,
                        "p50_ms": res.p50_ms,
                        "p99_ms": res.p99_ms,
                        "split": split,
                    }

                for rnd in range(rounds):
                    log(f"  round {rnd + 1}/{rounds}")
                    for path_name, path in PATHS.items():
                        for where, base in bases.items():
                            name = f"{path_name}_{where}"
                            results.setdefault(name, []).append(measure(name, base + path))
    finally:
        drop_database(db_name)
        import redis

        redis.Redis.from_url(REDIS_URL).flushdb()
        shutil.rmtree(workdir, ignore_errors=True)
    return summarise(results)


def summarise(results: dict[str, list[dict]]) -> list[dict]:
    rows = []
    for path_name in PATHS:
        alone, front = results[f"{path_name}_alone"], results[f"{path_name}_front"]
        ratios = [f["rps"] / a["rps"] for f, a in zip(front, alone, strict=True)]
        for where, runs in (("alone", alone), ("front", front)):
            rows.append(
                {
                    "name": f"{path_name} {'through nginx' if where == 'front' else 'gunicorn alone'}",
                    "rps": round(statistics.median(r["rps"] for r in runs), 1),
                    "ratio": round(statistics.median(ratios), 3) if where == "front" else 1.0,
                    "non2xx": sum(r["non2xx"] for r in runs),
                    "p50_ms": statistics.median(r["p50_ms"] or 0 for r in runs),
                    "p99_ms": max(r["p99_ms"] or 0 for r in runs),
                    "per_round_ratio": [round(x, 3) for x in ratios] if where == "front" else None,
                    "note": "alpine split " + ";".join("/".join(map(str, r["split"])) for r in runs),
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
    print(
        format_table(rows, ["name", "rps", "ratio", "non2xx", "p50_ms", "p99_ms", "per_round_ratio", "note"])
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
