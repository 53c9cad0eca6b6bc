"""Counting every Alpine request, nearly for free: the hooks and ``init_app``.

In the spirit of redash's ``metrics/request.py``: Flask's ``request_started``
signal notes the start time, ``after_request`` (or ``teardown_request`` for a
request that died with an unhandled error) hands one observation to this
app's in-memory aggregate (app/metrics/aggregator.py), which the flusher
(app/metrics/flusher.py) sends to Redis and to the ``flask_http_request_*``
Prometheus series (app/metrics/series.py): one hook for both, so
prometheus-flask-exporter's own per-request hooks are off.

What is counted, per UTC minute: requests and latency sum (µs) per url rule
(``/api/users/me``, never the raw path; ``<unmatched>`` when no route
matched), method (one of seven, else ``OTHER``: httpkit/methods.py) and
status class (the Prometheus series keep the status code); and signals
delivered per user (a view sets ``flask.g.signals_delivered``). ``/metrics``
and ``/health`` are not counted.
"""

from __future__ import annotations

import time

from flask import Flask, g, request, request_started

from app.metrics.aggregator import DROPPED, RequestMetrics
from httpkit.methods import method_label

UNMATCHED = "<unmatched>"
EXCLUDED_PATHS = frozenset({"/metrics", "/health"})
START_KEY = "alpine.metrics.start"


def _current_user_id() -> int | None:
    """The authenticated caller (decided by app/accounts/request_auth.py), if any."""
    from app.accounts.request_auth import caller_id

    return caller_id()


def init_app(app: Flask) -> None:
    app.extensions["request_metrics"] = None
    if not app.config.get("METRICS_ENABLED", True):
        return
    from app.extensions import LazyRedis

    # Its own lazy client, bound to THIS app's Redis: the shared redis_store is
    # re-pointed by every create_app(), and an older app's flusher (tests build
    # many apps per process) must never write into a newer app's Redis.
    own_redis = LazyRedis().configure(app.config)
    agg = RequestMetrics(
        own_redis, app.config["METRICS_FLUSH_INTERVAL"], app.config["METRICS_MAX_BUFFERED_KEYS"]
    )
    app.extensions["request_metrics"] = agg
    for kind in ("requests", "deliveries"):
        DROPPED.labels(kind)  # export 0, not nothing, until something is dropped

    # The start time lives in the WSGI environ (one proxy lookup, no ``g``).
    def record(req, status_code: int, start: float, unhandled: bool = False) -> None:
        now = time.time()
        rule = req.url_rule
        delivered = g.pop("signals_delivered", None) or 0
        agg.record(
            int(now // 60),
            method_label(req.method),
            status_code,
            rule.rule if rule is not None else UNMATCHED,
            int((time.perf_counter() - start) * 1_000_000),
            _current_user_id() if delivered else None,
            int(delivered),
            unhandled,
        )

    def _metrics_start(_sender, **_extra):
        if request.path not in EXCLUDED_PATHS:
            request.environ[START_KEY] = time.perf_counter()

    # Flask sends request_started before any before_request hook: one that
    # refuses the request (405, 401, 429 ...) must not keep it from being
    # counted and timed. weak=False: the receiver is a closure of this app.
    request_started.connect(_metrics_start, app, weak=False)

    @app.after_request
    def _metrics_count(response):
        req = request  # the proxy: every attribute read resolves to this request
        start = req.environ.pop(START_KEY, None)
        if start is not None:
            record(req, response.status_code, start)
        return response

    @app.teardown_request
    def _metrics_count_unhandled(exc):
        # after_request never ran: the request died with an unhandled error.
        req = request  # the proxy: every attribute read resolves to this request
        start = req.environ.pop(START_KEY, None)
        if start is not None:
            record(req, 500, start, unhandled=True)
