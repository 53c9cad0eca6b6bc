"""Bench-only app: a bare Flask JSON endpoint, with or without the request-counting hook.

``METRICS_ENABLED`` / ``METRICS_FLUSH_INTERVAL`` / ``REDIS_URL`` come from the
environment, exactly as for Alpine, so the only difference between variants is
the hook itself.
"""

from __future__ import annotations

import os

from flask import Flask


def create_app() -> Flask:
    from app.extensions import redis_store
    from app.metrics import request as request_metrics
    from config import _bool

    app = Flask(__name__)
    app.config.update(
        REDIS_URL=os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/15"),
        REDIS_SOCKET_TIMEOUT=0.25,
        REDIS_CONNECT_TIMEOUT=0.25,
        METRICS_ENABLED=_bool(os.environ.get("METRICS_ENABLED", "1")),
        METRICS_FLUSH_INTERVAL=float(os.environ.get("METRICS_FLUSH_INTERVAL", "1")),
        METRICS_MAX_BUFFERED_KEYS=50_000,
    )
    redis_store.init_app(app)
    request_metrics.init_app(app)

    @app.get("/health")
    def health():
        return {"status": "ok"}

    @app.get("/bare")
    def bare():
        return {"status": "ok"}

    return app
