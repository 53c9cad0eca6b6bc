"""Shared benchmark machinery: gunicorn on loopback, wrk, interleaved rounds.

Method: gunicorn 27 gthread, 2 workers x 4 threads with
--reuse-port; ``wrk -t2 -c16 -d10s``; variants interleaved A B A B over
rounds; the median of the per-round ratios; non-2xx counts recorded. wrk
shares the two cores with the servers, so only ratios within one run mean
anything.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # bench scripts run as files; config.py lives at the root
    sys.path.insert(0, str(ROOT))

from config import normalise_database_url  # noqa: E402

BIN = Path(sys.executable).parent


# The PostgreSQL server benchmarks create their scratch databases on.
ADMIN_DB_URL = normalise_database_url(
    os.environ.get("BENCH_DATABASE_URL")
    or os.environ.get("TEST_DATABASE_URL")
    or "postgresql://postgres@127.0.0.1:5432/test"
)


def create_database(prefix: str) -> tuple[str, str]:
    """A fresh PostgreSQL database ``<prefix>_<random>``: (name, url)."""
    import uuid

    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    name = f"{prefix}_{uuid.uuid4().hex[:10]}"
    admin = create_engine(ADMIN_DB_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return name, make_url(ADMIN_DB_URL).set(database=name).render_as_string(hide_password=False)


def drop_database(name: str) -> None:
    from sqlalchemy import create_engine, text

    admin = create_engine(ADMIN_DB_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_redis(workdir: Path | str) -> tuple[subprocess.Popen, str]:
    """A private redis-server on a free port (nothing kept on disk, files in
    ``workdir``), answering PING; returns the process and its URL. The caller
    terminates it."""
    import redis

    port = free_port()
    exe = str(BIN / "redis-server") if (BIN / "redis-server").exists() else "redis-server"
    proc = subprocess.Popen(
        [exe, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"]
        + ["--dir", str(workdir)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    url = f"redis://127.0.0.1:{port}/0"
    deadline = time.monotonic() + 10
    while True:
        try:
            redis.Redis.from_url(url, socket_connect_timeout=0.2).ping()
            return proc, url
        except redis.ConnectionError:
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("redis-server did not start") from None
            time.sleep(0.05)


def require_wrk() -> str:
    wrk = shutil.which("wrk")
    if not wrk:
        raise SystemExit("wrk is not installed: `apt-get install -y wrk` (Debian) or build it from source")
    return wrk


class Gunicorn:
    """A gunicorn server with the bench settings, as a context manager."""

    def __init__(
        self,
        app_spec: str,
        env: dict | None = None,
        workers: int = 2,
        threads: int = 4,
        extra_args: list[str] | None = None,
        port: int | None = None,
        scheme: str = "http",
        cwd: Path = ROOT,
    ):
        # cwd: gunicorn puts the directory it starts in first on sys.path, so
        # serving another tree's app (an old revision) means starting there.
        self.cwd = cwd
        self.port = port or free_port()
        self.url = f"{scheme}://127.0.0.1:{self.port}"
        self.argv = [
            str(BIN / "gunicorn"),
            "-k",
            "gthread",
            "-w",
            str(workers),
            "--threads",
            str(threads),
            "--reuse-port",
            "--bind",
            f"127.0.0.1:{self.port}",
            "--log-level",
            "warning",
            "--timeout",
            "60",
            *(extra_args or []),
            app_spec,
        ]
        self.env = {**os.environ, "PYTHONPATH": str(ROOT), **(env or {})}
        self.proc: subprocess.Popen | None = None
        self._log = tempfile.NamedTemporaryFile(prefix="bench-gunicorn-", suffix=".log", delete=False)

    def __enter__(self) -> Gunicorn:
        self.proc = subprocess.Popen(
            self.argv,
            cwd=self.cwd,
            env=self.env,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        self.wait_ready()
        return self

    def wait_ready(self, path: str = "/health", timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(
                    f"gunicorn exited; log: {self._log.name}\n" + Path(self._log.name).read_text()[-3000:]
                )
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.5):
                    return
            except OSError:
                time.sleep(0.2)
        raise RuntimeError(f"gunicorn did not start on {self.port}; log: {self._log.name}")

    def worker_pids(self) -> list[int]:
        out = subprocess.run(["pgrep", "-P", str(self.proc.pid)], capture_output=True, text=True)
        return [int(p) for p in out.stdout.split()]

    def __exit__(self, *exc) -> None:
        if self.proc and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()


@dataclass
class WrkResult:
    rps: float
    requests: int
    non2xx: int
    p50_ms: float | None = None
    p99_ms: float | None = None
    raw: str = field(default="", repr=False)


_UNITS = {"us": 0.001, "ms": 1.0, "s": 1000.0}


def _ms(text: str) -> float:
    m = re.match(r"([\d.]+)(us|ms|s)", text)
    return float(m.group(1)) * _UNITS[m.group(2)]


def wrk(
    url: str, duration: int = 10, threads: int = 2, connections: int = 16, headers: dict | None = None
) -> WrkResult:
    argv = [require_wrk(), f"-t{threads}", f"-c{connections}", f"-d{duration}s", "--latency"]
    for key, value in (headers or {}).items():
        argv += ["-H", f"{key}: {value}"]
    out = subprocess.run(argv + [url], capture_output=True, text=True, timeout=duration + 30).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    requests = int(re.search(r"(\d+) requests in", out).group(1))
    non2xx_m = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    p50 = re.search(r"50%\s+([\d.]+\w+)", out)
    p99 = re.search(r"99%\s+([\d.]+\w+)", out)
    return WrkResult(
        rps=rps,
        requests=requests,
        non2xx=int(non2xx_m.group(1)) if non2xx_m else 0,
        p50_ms=_ms(p50.group(1)) if p50 else None,
        p99_ms=_ms(p99.group(1)) if p99 else None,
        raw=out,
    )


def interleave(variants: dict, rounds: int, duration: int) -> dict[str, list[WrkResult]]:
    """Run ``variants`` (name -> zero-arg callable returning a WrkResult) A B A B."""
    results: dict[str, list[WrkResult]] = {name: [] for name in variants}
    for r in range(rounds):
        for name, run_once in variants.items():
            res = run_once(duration)
            results[name].append(res)
            print(
                f"  round {r + 1}/{rounds} {name:<40} {res.rps:10.1f} req/s  non-2xx {res.non2xx}", flush=True
            )
    return results


def median_ratio(results: dict[str, list[WrkResult]], name: str, baseline: str) -> float:
    return statistics.median(a.rps / b.rps for a, b in zip(results[name], results[baseline], strict=True))


def median_rps(runs: list[WrkResult]) -> float:
    return statistics.median(r.rps for r in runs)


def format_table(rows: list[dict], columns: list[str]) -> str:
    widths = {c: max(len(c), *(len(_fmt(row.get(c))) for row in rows)) for c in columns}
    line = "| " + " | ".join(c.ljust(widths[c]) for c in columns) + " |"
    sep = "|" + "|".join("-" * (widths[c] + 2) for c in columns) + "|"
    body = ["| " + " | ".join(_fmt(row.get(c)).ljust(widths[c]) for c in columns) + " |" for row in rows]
    return "\n".join([line, sep, *body])


def _fmt(value) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:.2f}" if value < 100 else f"{value:.0f}"
    return str(value)
