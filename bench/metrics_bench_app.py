"""Bench-only apps: a bare Flask JSON endpoint, with or without the request-counting hook.

``METRICS_ENABLED`` / ``METRICS_FLUSH_INTERVAL`` / ``REDIS_URL`` come from the
environment, exactly as for Alpine, so the only difference between variants is
the hook itself. ``BENCH_PROMETHEUS`` adds /metrics and the ``flask_http_request_*``
series: ``new`` as Alpine does now (fed in batches by the hook's aggregate),
``legacy`` as before issue 13 (prometheus-flask-exporter's own per-request hooks,
see :func:`use_legacy_exporter`). ``alpine_legacy()`` is Alpine's ``wsgi:app``
with the legacy exporter hooks.
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
    mode = os.environ.get("BENCH_PROMETHEUS", "")
    if mode in ("new", "legacy"):
        from app.metrics import prometheus

        prometheus.init_app(app)
        if mode == "legacy":
            use_legacy_exporter(app)

    @app.get("/health")
    def health():
        return {"status": "ok"}

    @app.get("/bare")
    def bare():
        return {"status": "ok"}

    return app


def use_legacy_exporter(app: Flask) -> Flask:
    """Put back the per-request Prometheus path of before issue 13: the aggregate counts
    for Redis only, and prometheus-flask-exporter's default hooks (before_request,
    after_request, teardown_request; grouped by url rule) feed ``flask_http_request_*``."""
    from prometheus_client import CollectorRegistry
    from prometheus_flask_exporter import PrometheusMetrics

    agg = app.extensions.get("request_metrics")
    if agg is not None:
        agg.series = None
    # Its own registry: the app's holds the new series under the same names. In
    # multiprocess mode the values go to the files either way, as they used to.
    legacy = PrometheusMetrics(
        app=None, path=None, export_defaults=False, registry=CollectorRegistry(), excluded_paths=["^/health$"]
    )
    legacy.export_defaults(group_by="url_rule", prefix="flask", app=app)
    return app


def alpine_legacy() -> Flask:
    """gunicorn ``bench.metrics_bench_app:alpine_legacy()``: wsgi:app, legacy exporter hooks."""
    from wsgi import app

    return use_legacy_exporter(app)
