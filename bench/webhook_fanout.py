"""Webhook fan-out: signals stored in Argo, pushed to 100 local receivers.

    python bench/webhook_fanout.py [--receivers 100] [--rate 10] [--seconds 20] [--concurrency 16]

Real parts throughout: a scratch PostgreSQL database, a private redis-server
(broker), Argo (its own SQLite store, served on loopback), one Celery worker
process (threads pool) running the webhook tasks, and N receivers (one
process, N ports). The bench stores ``rate`` signals per second in Argo for
``seconds``; a poller in this process ingests them every 100 ms the way the
sync task does (``sync_signals``: Argo -> verify -> ``store_new`` -> fan-out
task). Measured: per delivery, the delay from Argo storing the signal to the
receiver reading it (p50, p99, max), and deliveries per second over the run.
Every endpoint matches every signal (pro owners, no filters).
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.harness import ROOT, create_database, drop_database, free_port, start_redis  # noqa: E402


def _percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--receivers", type=int, default=100)
    parser.add_argument("--rate", type=float, default=10.0, help="signals per second stored in Argo")
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--concurrency", type=int, default=16, help="worker threads")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)  # before create_app: no per-request INFO lines
    logging.getLogger("werkzeug").setLevel(logging.WARNING)

    workdir = Path(tempfile.mkdtemp(prefix="bench-webhooks-"))
    db_name, db_url = create_database("bench_webhooks")
    procs: list[subprocess.Popen] = []
    try:
        redis_proc, redis_url = start_redis(workdir)
        procs.append(redis_proc)
        config = {
            "APP_ENV": "testing",
            "DATABASE_URL": db_url,
            "REDIS_URL": redis_url,
            "SECRET_KEY": "bench-secret-key-that-is-long-enough-0123456789",
            "JWT_SECRET_KEY": "bench-jwt-secret-key-that-is-long-enough-01234",
            "INSTANCE_DIR": str(workdir),
            "DB_POOL_SIZE": str(args.concurrency + 2),
            "METRICS_FLUSH_INTERVAL": "1.0",
        }

        # Argo, on loopback, over its own SQLite store.
        from werkzeug.serving import make_server

        from argo_app import create_app as create_argo
        from argo_app.model import make_signal

        argo = create_argo({"ARGO_DB_PATH": str(workdir / "argo.db"), "TESTING": True})
        argo_port = free_port()
        argo_server = make_server("127.0.0.1", argo_port, argo, threaded=True)
        threading.Thread(target=argo_server.serve_forever, daemon=True).start()
        config["ARGO_URL"] = f"http://127.0.0.1:{argo_port}"
        store = argo.extensions["argo_store"]

        from app import create_app
        from app.extensions import db

        app = create_app(dict(config))
        with app.app_context():
            db.create_all()

        arrivals_file = workdir / "arrivals.jsonl"
        receivers = subprocess.Popen(
            [
                sys.executable,
                str(ROOT / "bench/webhook_receivers.py"),
                str(args.receivers),
                str(arrivals_file),
            ],
            stdout=subprocess.PIPE,
            start_new_session=True,
            text=True,
        )
        procs.append(receivers)
        ports = json.loads(receivers.stdout.readline())

        # Endpoints: 5 per pro user (the per-user limit), every one matching every signal.
        from app.accounts import users as user_service
        from app.webhooks import endpoints

        with app.app_context():
            for i in range(0, len(ports), 5):
                user = user_service.create_user(
                    f"bench{i}@example.com", "bench password 1234!", "Bench", tier="pro"
                )
                for port in ports[i : i + 5]:
                    endpoints.create(
                        user.id, {"url": f"http://127.0.0.1:{port}/hook", "events": ["signal.created"]}
                    )

        env = {**os.environ, **config, "PYTHONPATH": str(ROOT)}
        worker = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "celery",
                "-A",
                "workers.celery_app",
                "worker",
                "--pool=threads",
                f"--concurrency={args.concurrency}",
                "--without-heartbeat",
                "--without-mingle",
                "--without-gossip",
                "--loglevel=WARNING",
            ],
            cwd=ROOT,
            env=env,
            stdout=open(workdir / "worker.log", "wb"),
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        procs.append(worker)
        time.sleep(3)  # worker up (tasks published before it is wait in the queue anyway)

        # The ingest poller: what the sync task / feed do, every 100 ms.
        from app.feed.signal_sync import sync_signals

        stop = threading.Event()

        def poll():
            with app.app_context():
                while not stop.is_set():
                    sync_signals(max_pages=2, page_size=200)
                    db.session.remove()
                    stop.wait(0.1)

        poller = threading.Thread(target=poll, daemon=True)
        poller.start()

        stored_at: dict[str, float] = {}
        total = int(args.rate * args.seconds)
        started = time.monotonic()
        for n in range(total):
            due = started + n / args.rate
            time.sleep(max(0.0, due - time.monotonic()))
            entry = 100.0 + n * 0.01
            sig = make_signal(
                symbol="AAPL",
                action="BUY",
                confidence=70.0,
                entry_price=entry,
                stop_loss=entry - 1,
                take_profit=entry + 2,
                timestamp=datetime.now(UTC),
                strategy="bench",
            )
            store.insert_many([sig])
            stored_at[sig["sha256"]] = time.time()
        expected = total * len(ports)

        # Wait for every delivery (or give up after 5 minutes).
        from sqlalchemy import func, select

        from app.webhooks.models import DELIVERED, WebhookMessage

        deadline = time.monotonic() + 300
        with app.app_context():
            while time.monotonic() < deadline:
                done = db.session.execute(
                    select(func.count()).select_from(WebhookMessage).where(WebhookMessage.status == DELIVERED)
                ).scalar_one()
                db.session.remove()
                if done >= expected:
                    break
                time.sleep(0.5)
        stop.set()
        poller.join(5)
        receivers.send_signal(signal.SIGTERM)
        receivers.wait(30)

        arrivals = [json.loads(line) for line in arrivals_file.read_text().splitlines()]
        delays = [at - stored_at[sha] for sha, at in arrivals if sha in stored_at]
        first_store = min(stored_at.values())
        last_receipt = max(at for _, at in arrivals)
        span = last_receipt - first_store
        print(
            json.dumps(
                {
                    "receivers": len(ports),
                    "rate_signals_per_s": args.rate,
                    "seconds": args.seconds,
                    "worker_threads": args.concurrency,
                    "signals": total,
                    "deliveries_expected": expected,
                    "deliveries_received": len(delays),
                    "deliveries_per_s": round(len(delays) / span, 1),
                    "signals_fully_pushed_per_s": round(total / span, 2),
                    "delay_p50_s": round(statistics.median(delays), 3),
                    "delay_p99_s": round(_percentile(delays, 99), 3),
                    "delay_max_s": round(max(delays), 3),
                },
                indent=2,
            )
        )
        return 0
    finally:
        for proc in reversed(procs):
            if proc.poll() is None:
                try:
                    os.killpg(proc.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
                proc.wait(10)
        drop_database(db_name)
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
