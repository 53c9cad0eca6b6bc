"""gunicorn settings for Alpine (and, with --bind, Argo).

gthread, 2 workers x 4 threads by default; --reuse-port spreads keep-alive
connections across workers (without it one worker often takes most of them).
"""

import os

bind = os.environ.get("GUNICORN_BIND", f"127.0.0.1:{os.environ.get('ALPINE_PORT', '5000')}")
worker_class = "gthread"
workers = int(os.environ.get("WEB_CONCURRENCY", "2"))
threads = int(os.environ.get("GUNICORN_THREADS", "4"))
reuse_port = True
timeout = 30
graceful_timeout = 20
keepalive = 5
accesslog = os.environ.get("GUNICORN_ACCESSLOG") or None
# gunicorn answers an over-long request line or header itself, in HTML (its
# default line limit, 4094 bytes, is hit by real query strings). Take the
# largest line it allows, the same 8 KiB nginx's front allows
# (deploy/nginx.conf), so requests nginx passes always reach the app, whose
# errors are JSON; nginx answers the longer ones in JSON.
limit_request_line = 8190
limit_request_field_size = 8190

# --- Request metrics and Prometheus multiprocess mode (app/metrics/) -----------
# Every worker writes its Prometheus metrics to files in PROMETHEUS_MULTIPROC_DIR
# and /metrics (answered by any worker) sums them. It must be in the environment
# before a worker imports prometheus_client: the launcher/Procfile should set it
# for the web process only; if it is unset we make a private one here.
if not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
    import tempfile

    os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(prefix="alpine-prometheus-")


def _serves_alpine(server) -> bool:
    # Argo shares this file (Procfile); it must never empty Alpine's directory.
    return "argo_app" not in str(getattr(server.app, "app_uri", "") or "")


def on_starting(server):
    # Files left by a previous run would be summed into this run's counters.
    if not _serves_alpine(server):
        return
    path = os.environ["PROMETHEUS_MULTIPROC_DIR"]
    os.makedirs(path, exist_ok=True)
    for name in os.listdir(path):
        if name.endswith(".db"):
            os.remove(os.path.join(path, name))


def child_exit(server, worker):
    # Drop a dead worker's live gauges (its counters stay summed).
    if _serves_alpine(server):
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(worker.pid)


def worker_exit(server, worker):
    # Last flush of the in-memory request counters on a clean worker exit.
    import sys

    flusher = sys.modules.get("app.metrics.flusher")  # loaded only where Alpine counts requests
    if flusher is not None:
        flusher.flush_all()
    feed_window = sys.modules.get("app.feed.window_poller")
    if feed_window is not None:  # the feed window's poller thread (started lazily per worker)
        feed_window.stop_all()
    auth_invalidation = sys.modules.get("app.accounts.auth_invalidation")
    if auth_invalidation is not None:  # the in-process auth memory's listener thread
        auth_invalidation.stop_all()
