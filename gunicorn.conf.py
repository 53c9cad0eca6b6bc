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
