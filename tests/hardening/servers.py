"""Real processes for the fault tests: a stoppable redis-server, gunicorn, a Celery worker.

All on loopback, each in its own session so a kill reaches the whole process
group (gunicorn master and workers) and nothing outlives the test.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import redis
import requests

from tests.conftest import free_port

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
REDIS_SERVER = str(BIN / "redis-server") if (BIN / "redis-server").exists() else "redis-server"


class RedisServer:
    """redis-server with no automatic persistence. ``stop()`` is a SHUTDOWN SAVE, so a
    restart comes back with what was applied before the stop (a clean Redis restart),
    and nothing is ever written unless we stop it."""

    def __init__(self, workdir: Path):
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.workdir = workdir
        self.proc: subprocess.Popen | None = None

    def start(self) -> RedisServer:
        self.proc = subprocess.Popen(
            [
                REDIS_SERVER,
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                str(self.workdir),
                "--dbfilename",
                "dump.rdb",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        client = redis.Redis.from_url(self.url, socket_connect_timeout=0.2)
        deadline = time.monotonic() + 10
        while True:
            try:
                if client.ping():
                    return self
            except (redis.ConnectionError, redis.BusyLoadingError):
                assert self.proc.poll() is None, "redis-server exited"
                assert time.monotonic() < deadline, "redis-server did not start"
                time.sleep(0.05)

    def stop(self) -> None:
        try:
            redis.Redis.from_url(self.url, socket_timeout=5).shutdown(save=True)
        except redis.ConnectionError:
            pass  # the server closes the connection as it exits
        self.proc.wait(10)

    def kill(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)

    def client(self) -> redis.Redis:
        return redis.Redis.from_url(self.url, decode_responses=True)


class Proc:
    """A subprocess in its own process group, output to a log file."""

    def __init__(self, argv: list[str], env: dict, log_path: Path, cwd: Path = ROOT):
        self.argv, self.env, self.log_path, self.cwd = argv, env, log_path, cwd
        self.proc: subprocess.Popen | None = None

    def start(self) -> Proc:
        log = open(self.log_path, "ab")
        self.proc = subprocess.Popen(
            self.argv,
            cwd=self.cwd,
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        log.close()
        return self

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def signal_group(self, sig) -> None:
        if self.alive():
            try:
                os.killpg(self.proc.pid, sig)
            except ProcessLookupError:
                pass

    def kill(self) -> None:
        self.signal_group(signal.SIGKILL)
        if self.proc is not None:
            self.proc.wait(10)

    def terminate(self, timeout: float = 30) -> None:
        self.signal_group(signal.SIGTERM)
        try:
            self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.kill()

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""


def wait_http(url: str, proc: Proc, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            requests.get(url, timeout=2)
            return
        except requests.RequestException:
            assert proc.alive(), proc.log()[-3000:]
            assert time.monotonic() < deadline, f"{url} did not come up:\n{proc.log()[-3000:]}"
            time.sleep(0.1)


def env_with(config: dict, **extra) -> dict:
    env = {**os.environ, **{k: str(v) for k, v in config.items()}, "PYTHONPATH": str(ROOT)}
    env.update({k: str(v) for k, v in extra.items()})
    return env


def alpine_gunicorn(env: dict, port: int, log_path: Path, workers: int = 2, threads: int = 3) -> Proc:
    env = {
        **env,
        "GUNICORN_BIND": f"127.0.0.1:{port}",
        "WEB_CONCURRENCY": str(workers),
        "GUNICORN_THREADS": str(threads),
    }
    return Proc([str(BIN / "gunicorn"), "-c", "gunicorn.conf.py", "wsgi:app"], env, log_path)


def argo_gunicorn(env: dict, port: int, log_path: Path, workdir: Path) -> Proc:
    # Run from workdir so Alpine's ./gunicorn.conf.py is not picked up.
    return Proc(
        [
            str(BIN / "gunicorn"),
            "-k",
            "gthread",
            "-w",
            "1",
            "--threads",
            "4",
            "-b",
            f"127.0.0.1:{port}",
            "--log-level",
            "warning",
            "argo_app:create_app()",
        ],
        env,
        log_path,
        cwd=workdir,
    )


def celery_worker(env: dict, log_path: Path) -> Proc:
    return Proc(
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "workers.celery_app",
            "worker",
            "--pool=solo",
            "--without-heartbeat",
            "--without-mingle",
            "--without-gossip",
            "--loglevel=WARNING",
        ],
        env,
        log_path,
    )
