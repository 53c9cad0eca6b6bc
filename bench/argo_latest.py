"""Benchmark: Argo GET /api/signals/latest vs the seed's "before" code.

    python bench/argo_latest.py [--rounds 5] [--duration 10] [--signals 200000]

Variants (each its own gunicorn 27 gthread server, -w 2 --threads 4
--reuse-port, 127.0.0.1, all started once and kept up), driven one at a time
by ``wrk -t2 -c16 -d<duration>s``, interleaved in every round:

  bare              bare Flask JSON endpoint (the ceiling)
  before_old_*      the seed's "before": connect per request, SELECT * ORDER BY
                    timestamp DESC LIMIT 2*limit, filter in Python; old schema, no index
  before_idx_*      the same code on Argo's indexed schema
  argo_*            the real Argo app (argo_app:create_app())
  (* = premium_only false / true, limit=10)

Ratios are computed within each round and the median over rounds is reported.
``run(rounds, duration)`` returns one dict per variant and per ratio.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import shutil
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from datetime import UTC, datetime, timedelta
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent
REPO = BENCH_DIR.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from argo_app.model import make_signal  # noqa: E402
from argo_app.store import SignalStore  # noqa: E402

WRK = shutil.which("wrk") or "/usr/bin/wrk"
GUNICORN = str(Path(sys.executable).with_name("gunicorn"))
LIMIT = 10
SYMBOLS = ("AAPL", "MSFT", "NVDA", "TSLA", "AMZN", "BTC-USD", "ETH-USD", "SPY", "QQQ", "GOOG")

OLD_SCHEMA = """
CREATE TABLE signals (
    id INTEGER PRIMARY KEY, symbol TEXT, action TEXT, confidence REAL,
    entry_price REAL, stop_price REAL, target_price REAL, timestamp TEXT,
    strategy TEXT, sha256 TEXT
)"""


# -- data ------------------------------------------------------------------
def synthetic_signals(n: int, seed: int = 42):
    """n valid signals (real sha256s), one every 15 s, confidence uniform 60..100
    (so 12.5% are premium)."""
    rng = random.Random(seed)
    end = datetime(2026, 1, 5, 16, 0, tzinfo=UTC)
    for i in range(n):
        action = rng.choice(("BUY", "SELL"))
        entry = rng.uniform(20, 500)
        atr = entry * rng.uniform(0.002, 0.02)
        sign = 1 if action == "BUY" else -1
        yield make_signal(
            symbol=rng.choice(SYMBOLS),
            action=action,
            confidence=rng.uniform(60, 100),
            entry_price=entry,
            stop_loss=entry - sign * 1.5 * atr,
            take_profit=entry + sign * 3 * atr,
            timestamp=end - timedelta(seconds=15 * i),
            strategy="weighted_consensus",
        )


def build_databases(directory: Path, n: int) -> tuple[Path, Path]:
    new_db, old_db = directory / "argo.db", directory / "old.db"
    signals = list(synthetic_signals(n))
    store = SignalStore(str(new_db))
    store.init_schema()
    for i in range(0, n, 20_000):
        store.insert_many(signals[i : i + 20_000])
    store.checkpoint("TRUNCATE")
    store.close_all()
    conn = sqlite3.connect(old_db)
    conn.execute(OLD_SCHEMA)
    conn.executemany(
        "INSERT INTO signals (symbol, action, confidence, entry_price, stop_price, target_price,"
        " timestamp, strategy, sha256) VALUES (?,?,?,?,?,?,?,?,?)",
        [
            (
                s["symbol"],
                s["action"],
                s["confidence"],
                s["entry_price"],
                s["stop_loss"],
                s["take_profit"],
                s["timestamp"],
                s["strategy"],
                s["sha256"],
            )
            for s in signals
        ],
    )
    conn.commit()
    conn.close()
    return new_db, old_db


# -- servers ---------------------------------------------------------------
def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    def __init__(self, name: str, app: str, env: dict, workdir: Path):
        self.name, self.port = name, free_port()
        self.counts_dir = workdir / f"counts_{name}"
        self.counts_dir.mkdir()
        full_env = {**os.environ, **env, "ARGO_BENCH_COUNTS_DIR": str(self.counts_dir)}
        self.log = open(workdir / f"{name}.log", "w")
        self.proc = subprocess.Popen(
            [
                GUNICORN,
                "-k",
                "gthread",
                "-w",
                "2",
                "--threads",
                "4",
                "--reuse-port",
                "-b",
                f"127.0.0.1:{self.port}",
                "--pythonpath",
                f"{BENCH_DIR},{REPO}",
                "-c",
                str(BENCH_DIR / "argo_gunicorn_conf.py"),
                "--log-level",
                "warning",
                app,
            ],
            env=full_env,
            stdout=self.log,
            stderr=subprocess.STDOUT,
            cwd=str(REPO),
        )

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def wait_ready(self, path: str, timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"{self.name} exited; see its log")
            try:
                with urllib.request.urlopen(self.url(path), timeout=2) as r:
                    if r.status == 200:
                        return
            except OSError:
                time.sleep(0.2)
        raise RuntimeError(f"{self.name} not ready after {timeout}s")

    def worker_counts(self) -> dict[int, dict]:
        out = {}
        for f in self.counts_dir.glob("*.json"):
            try:
                record = json.loads(f.read_text())
                out[record["pid"]] = record
            except (ValueError, OSError):
                pass
        return out

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
        self.log.close()


# -- load ------------------------------------------------------------------
def wrk(url: str, duration: int) -> dict:
    out = subprocess.run(
        [WRK, "-t2", "-c16", f"-d{duration}s", url], capture_output=True, text=True, timeout=duration + 30
    ).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    total = int(re.search(r"(\d+) requests in", out).group(1))
    non2xx = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    errors = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    return {
        "rps": rps,
        "requests": total,
        "non2xx": int(non2xx.group(1)) if non2xx else 0,
        "socket_errors": sum(map(int, errors.groups())) if errors else 0,
    }


def rows_returned(url: str) -> int:
    with urllib.request.urlopen(url, timeout=10) as r:
        return len(json.loads(r.read()))


def run(rounds: int = 5, duration: int = 10, n_signals: int = 200_000, log=print) -> list[dict]:
    workdir = Path(tempfile.mkdtemp(prefix="argo_bench_"))
    servers: dict[str, Server] = {}
    try:
        t0 = time.monotonic()
        new_db, old_db = build_databases(workdir, n_signals)
        log(f"built {n_signals} signals in two databases in {time.monotonic() - t0:.1f}s")
        servers = {
            "bare": Server("bare", "bare_app:create_app()", {}, workdir),
            "before_old": Server(
                "before_old",
                "argo_bench_apps:before_app()",
                {"ARGO_BENCH_DB": str(old_db), "ARGO_BENCH_SCHEMA": "old"},
                workdir,
            ),
            "before_idx": Server(
                "before_idx",
                "argo_bench_apps:before_app()",
                {"ARGO_BENCH_DB": str(new_db), "ARGO_BENCH_SCHEMA": "new"},
                workdir,
            ),
            "argo": Server(
                "argo", "argo_app:create_app()", {"ARGO_DB_PATH": str(new_db), "ARGO_API_KEY": ""}, workdir
            ),
        }
        servers["bare"].wait_ready("/bare")
        for name in ("before_old", "before_idx", "argo"):
            servers[name].wait_ready(f"/api/signals/latest?limit={LIMIT}")

        variants = [("bare", "bare", "/bare")]
        for premium in ("false", "true"):
            path = f"/api/signals/latest?limit={LIMIT}&premium_only={premium}"
            for server in ("before_old", "before_idx", "argo"):
                variants.append((f"{server}_premium_{premium}", server, path))

        rows = {name: rows_returned(servers[srv].url(path)) for name, srv, path in variants if srv != "bare"}
        results: dict[str, list[dict]] = {name: [] for name, _, _ in variants}
        for rnd in range(rounds):
            for name, srv, path in variants:
                before = servers[srv].worker_counts()
                res = wrk(servers[srv].url(path), duration)
                time.sleep(0.5)  # let the count writers catch up
                after = servers[srv].worker_counts()
                res["per_worker"] = sorted(
                    (after[p]["requests"] - before.get(p, {}).get("requests", 0) for p in after), reverse=True
                )
                res["sqlite_connections"] = [after[p].get("sqlite_connections") for p in after]
                results[name].append(res)
                log(
                    f"round {rnd + 1} {name:28s} {res['rps']:9.1f} rps  non2xx={res['non2xx']}"
                    f"  per-worker={res['per_worker']}  sqlite-conns={res['sqlite_connections']}"
                )
        return summarise(results, rows, rounds, duration, n_signals)
    finally:
        for server in servers.values():
            server.stop()
        shutil.rmtree(workdir, ignore_errors=True)


def summarise(results, rows, rounds, duration, n_signals) -> list[dict]:
    def ratio(a, b):
        return statistics.median(x["rps"] / y["rps"] for x, y in zip(results[a], results[b], strict=True))

    out = []
    for name, runs in results.items():
        row = {
            "name": f"argo_latest/{name}",
            "rps": round(statistics.median(r["rps"] for r in runs), 1),
            "ratio_vs_bare": round(ratio(name, "bare"), 3),
            "ratio": round(ratio(name, "bare"), 3),  # bench/run.py's column: vs bare
            "non2xx": sum(r["non2xx"] for r in runs),
            "socket_errors": sum(r["socket_errors"] for r in runs),
            "per_worker_requests": [r["per_worker"] for r in runs],
            "rows_returned": rows.get(name),
            "rounds": rounds,
            "duration_s": duration,
            "signals": n_signals,
        }
        conns = [c for r in runs for c in r["sqlite_connections"] if c is not None]
        if conns:
            row["max_sqlite_connections_per_worker"] = max(conns)
        note = [f"rows={row['rows_returned']}"] if row["rows_returned"] is not None else []
        note.append("per-worker=" + ";".join("/".join(map(str, pw)) for pw in row["per_worker_requests"]))
        if conns:
            note.append(f"max sqlite conns/worker={max(conns)} (4 threads)")
        row["note"] = " ".join(note)
        out.append(row)
    for premium in ("false", "true"):
        argo = f"argo_premium_{premium}"
        for base in ("before_old", "before_idx"):
            out.append(
                {
                    "name": f"argo_latest/ratio argo vs {base} (premium_only={premium})",
                    "ratio": round(ratio(argo, f"{base}_premium_{premium}"), 2),
                    "note": "median of per-round ratios",
                }
            )
    return out


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--duration", type=int, default=10)
    parser.add_argument("--signals", type=int, default=200_000)
    parser.add_argument("--json", help="also write the rows to this file")
    args = parser.parse_args(argv)
    rows = run(args.rounds, args.duration, args.signals)
    print()
    print(f"{'variant':58s} {'median rps':>10s} {'vs bare':>8s} {'rows':>5s} {'non2xx':>7s}")
    for row in rows:
        if "rps" in row:
            print(
                f"{row['name']:58s} {row['rps']:10.1f} {row['ratio_vs_bare']:8.3f} "
                f"{str(row['rows_returned'] or '-'):>5s} {row['non2xx']:7d}"
            )
        else:
            print(f"{row['name']:58s} {'':10s} {row['ratio']:8.2f}x")
    if args.json:
        Path(args.json).write_text(json.dumps(rows, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
