"""Quick check of Argo's hot path: GET /api/signals/latest?limit=10 vs a bare Flask endpoint.

    python bench/argo_hotpath.py [--rounds 5] [--duration 8] [--signals 200000]
                                 [--against REV] [--profile DIR]

Both servers run under the bench settings (bench/harness.py: gunicorn gthread,
2 workers x 4 threads, --reuse-port) and are driven one at a time by
``wrk -t2 -c16``, interleaved bare, argo, bare, argo ... in every round; the
ratio reported is the median of the per-round ratios (the box is noisy, only
ratios within one run mean anything). Argo serves a SQLite file of
``--signals`` synthetic signals (bench/argo_latest.py's data).

``--against REV`` adds a third server in the same rounds: Argo as it was at
git revision REV (``git archive`` into a temporary directory, gunicorn
started there), so a change is measured before/after under the same load.

Each run also records the workers' CPU time per request (/proc/<pid>/stat),
which other load on the box disturbs far less than req/s does.

``--profile DIR`` adds one more wrk run on Argo with py-spy (``--gil``, raw
format) attached to each worker, written to DIR/argo-<pid>.txt.
"""

from __future__ import annotations

import argparse
import contextlib
import os
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

from bench.argo_latest import synthetic_signals  # noqa: E402
from bench.harness import BIN, Gunicorn, interleave, median_ratio, median_rps, wrk  # noqa: E402

PATH = "/api/signals/latest?limit=10"
ARGO = "argo latest limit=10"


def seed(db: Path, n: int) -> None:
    from argo_app.store import SignalStore

    store = SignalStore(str(db))
    store.init_schema()
    signals = list(synthetic_signals(n))
    for i in range(0, n, 20_000):
        store.insert_many(signals[i : i + 20_000])
    store.checkpoint("TRUNCATE")
    store.close_all()


def export_revision(rev: str, into: Path) -> Path:
    """The tree of ``rev`` (this repository) unpacked under ``into``."""
    into.mkdir()
    archive = subprocess.run(["git", "-C", str(ROOT), "archive", rev], check=True, capture_output=True).stdout
    subprocess.run(["tar", "-x", "-C", str(into)], input=archive, check=True)
    return into


def worker_cpu_seconds(server: Gunicorn) -> float:
    """User + system CPU time used so far by the server's workers (all threads)."""
    total = 0
    for pid in server.worker_pids():
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])  # utime, stime (fields 14 and 15)
    return total / os.sysconf("SC_CLK_TCK")


def measured(server: Gunicorn, url: str, cpu_us: list[float]):
    """A wrk run that also records the workers' CPU time per request (in us):
    far less sensitive than req/s to other load on the box."""

    def run(duration: int):
        before = worker_cpu_seconds(server)
        res = wrk(url, duration)
        cpu_us.append((worker_cpu_seconds(server) - before) / max(res.requests, 1) * 1e6)
        return res

    return run


def profile(server: Gunicorn, url: str, duration: int, out_dir: Path) -> None:
    out_dir.mkdir(parents=True, exist_ok=True)
    spies = [
        subprocess.Popen(
            [str(BIN / "py-spy"), "record", "--gil", "-r", "100", "--format", "raw"]
            + ["-o", str(out_dir / f"argo-{pid}.txt"), "--pid", str(pid), "-d", str(duration)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        for pid in server.worker_pids()
    ]
    time.sleep(1)
    wrk(url, duration)
    for spy in spies:
        spy.wait(timeout=duration + 30)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--duration", type=int, default=8)
    parser.add_argument("--signals", type=int, default=200_000)
    parser.add_argument("--against", metavar="REV", help="also run Argo as of this git revision")
    parser.add_argument("--profile", type=Path, help="also profile Argo's workers with py-spy into DIR")
    args = parser.parse_args(argv)

    with tempfile.TemporaryDirectory(prefix="argo_hotpath_") as tmp:
        db = Path(tmp) / "argo.db"
        t0 = time.monotonic()
        seed(db, args.signals)
        print(f"seeded {args.signals} signals in {time.monotonic() - t0:.1f}s", flush=True)
        argo_env = {"ARGO_DB_PATH": str(db), "ARGO_API_KEY": ""}
        servers = {
            "bare": (Gunicorn("bench.bare_app:create_app()"), "/bare"),
            ARGO: (Gunicorn("argo_app:create_app()", env=argo_env), PATH),
        }
        if args.against:
            old = export_revision(args.against, Path(tmp) / "old")
            servers[f"argo@{args.against}"] = (
                Gunicorn("argo_app:create_app()", env={**argo_env, "PYTHONPATH": str(old)}, cwd=old),
                PATH,
            )
        with contextlib.ExitStack() as stack:
            for server, path in servers.values():
                stack.enter_context(server)
                wrk(server.url + path, 2)  # warm up every worker
            cpu: dict[str, list[float]] = {name: [] for name in servers}
            results = interleave(
                {
                    name: measured(server, server.url + path, cpu[name])
                    for name, (server, path) in servers.items()
                },
                args.rounds,
                args.duration,
            )
            if args.profile:
                profile(servers[ARGO][0], servers[ARGO][0].url + PATH, args.duration, args.profile)

    print()
    for name, runs in results.items():
        print(
            f"{name:<24} median {median_rps(runs):8.1f} req/s  non-2xx {sum(r.non2xx for r in runs)}"
            f"  worker CPU/request median {statistics.median(cpu[name]):6.1f} us"
        )
    for name in results:
        if name == "bare":
            continue
        ratios = [a.rps / b.rps for a, b in zip(results[name], results["bare"], strict=True)]
        print(
            f"{name}/bare per round: "
            + " ".join(f"{r:.3f}" for r in ratios)
            + f"  median {median_ratio(results, name, 'bare'):.3f}"
            f"  (min {min(ratios):.3f}, max {max(ratios):.3f}, stdev {statistics.pstdev(ratios):.3f})"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
