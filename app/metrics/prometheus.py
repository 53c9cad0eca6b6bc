"""``GET /metrics``: prometheus-flask-exporter, correct under several gunicorn workers.

With ``PROMETHEUS_MULTIPROC_DIR`` set (it must be set before the process
imports prometheus_client, i.e. by whatever starts gunicorn; gunicorn.conf.py
empties it on start and marks dead workers), every metric of every worker is
written to files there and a scrape, answered by whichever worker, sums them
(``GunicornInternalPrometheusMetrics``). Without it (tests, the dev server)
the plain ``PrometheusMetrics`` serves this process's registry.

The exporter only serves the endpoint here: its per-request default metrics
(``export_defaults``) are off, since their hooks cost ~8-10% of a worker's CPU
per request. The same ``flask_http_request_*`` series (by url rule) are fed in
batches by the request-counting hook's aggregate instead (app/metrics/series.py;
they lag by at most one ``METRICS_FLUSH_INTERVAL``, and are absent with
``METRICS_ENABLED`` off). Also exported: every module-level prometheus_client
metric of the app (the user cache's ``alpine_user_cache_lookups_total``, the
Argo client's, the request hook's buffered/dropped increments), and two
figures of the rollup, which runs in the Celery worker, read from Redis at
scrape time so they are the same whichever worker answers: ``alpine_metrics_rollup_lag_seconds`` and
``alpine_rollup_rejected_rows_total`` (counter fields the rollup set aside).

With ``METRICS_TOKEN`` set, a scrape must send ``Authorization: Bearer
<token>`` (401 ``token_missing`` / ``token_invalid`` otherwise, compared in
constant time); production logs a warning at start when it is not set, since
/metrics then tells anyone the endpoints, traffic and error rates.
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import logging
import os

from flask import Flask, request
from prometheus_client import REGISTRY, CollectorRegistry
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_flask_exporter import PrometheusMetrics
from prometheus_flask_exporter.multiprocess import GunicornInternalPrometheusMetrics

from app.metrics.series import RequestSeries

log = logging.getLogger(__name__)

PATH = "/metrics"


def multiprocess_mode() -> bool:
    return bool(os.environ.get("PROMETHEUS_MULTIPROC_DIR"))


class _Proxy:
    """Exposes another registry's metrics inside a per-scrape registry."""

    def __init__(self, registry):
        self._registry = registry

    def describe(self):
        return []  # no name clash checks: the proxied registry did them

    def collect(self):
        return self._registry.collect()


class RollupLagCollector:
    """``alpine_metrics_rollup_lag_seconds``: age of the oldest minute not yet in SQL;
    ``alpine_rollup_rejected_rows_total``: counter fields the rollup set aside."""

    def __init__(self, app: Flask):
        self._app = app

    def describe(self):
        return []

    def collect(self):
        from app.extensions import redis_store
        from app.metrics.rollup import rejected_rows_total, rollup_lag_seconds

        lag = GaugeMetricFamily(
            "alpine_metrics_rollup_lag_seconds",
            "Seconds since the oldest minute of request counters still "
            "in Redis (not yet rolled up into SQL) ended",
        )
        rejected = CounterMetricFamily(
            "alpine_rollup_rejected_rows_total",
            "Counter fields the rollup set aside (malformed or "
            "refused by the database) instead of blocking a minute",
        )
        up = GaugeMetricFamily(
            "alpine_metrics_redis_up", "1 if Redis answered the rollup-lag query of this scrape"
        )
        try:
            client = redis_store.client
            lag.add_metric([], rollup_lag_seconds(client))
            rejected.add_metric([], rejected_rows_total(client))
            up.add_metric([], 1)
        except Exception as exc:  # noqa: BLE001 - a scrape must not fail because Redis did
            log.warning("metrics: rollup lag unavailable: %s", exc.__class__.__name__)
            up.add_metric([], 0)
            yield up
            return
        yield lag
        yield rejected
        yield up


class _ScrapeMixin:
    """Build each scrape's registry: the process (or multiprocess) metrics + our collectors."""

    extra_collectors: list
    registry: CollectorRegistry  # PrometheusMetrics's: this app's flask_http_* series

    def generate_metrics(self, accept_header=None, names=None):
        from prometheus_flask_exporter import choose_encoder

        registry = CollectorRegistry(auto_describe=False)
        if multiprocess_mode():
            MultiProcessCollector(registry)
        else:
            registry.register(_Proxy(REGISTRY))  # module-level app metrics
            registry.register(_Proxy(self.registry))  # this app's flask_http_* metrics
        for collector in self.extra_collectors:
            registry.register(collector)
        scraped = registry
        if names:
            # A RestrictedRegistry is used as a Collector (it has collect()), which
            # prometheus_client's hints do not declare.
            scraped = registry.restricted_registry(names)  # type: ignore[assignment]
        generate_latest, content_type = choose_encoder(accept_header)
        return generate_latest(scraped).decode("utf-8"), content_type


class _PlainMetrics(_ScrapeMixin, PrometheusMetrics):
    pass


class _GunicornMetrics(_ScrapeMixin, GunicornInternalPrometheusMetrics):
    pass


def _digest(value: str) -> bytes:
    # Compare digests, not the strings: equal lengths, so the time taken does
    # not even tell the token's length.
    return hashlib.sha256(value.encode("utf-8", "surrogateescape")).digest()


def bearer_token_required(token: str):
    """A view decorator: 401 JSON unless ``Authorization: Bearer <token>``."""
    from httpkit.errors import error_response

    expected = _digest(token)
    challenge = {"WWW-Authenticate": 'Bearer realm="metrics"'}

    def decorator(view):
        @functools.wraps(view)
        def guarded(*args, **kwargs):
            scheme, _, given = request.headers.get("Authorization", "").partition(" ")
            given = given.strip()
            if scheme.lower() != "bearer" or not given:
                return error_response(
                    401,
                    "token_missing",
                    "This endpoint requires Authorization: Bearer <metrics token>.",
                    headers=challenge,
                )
            if not hmac.compare_digest(_digest(given), expected):
                return error_response(
                    401, "token_invalid", "The metrics token is not valid.", headers=challenge
                )
            return view(*args, **kwargs)

        return guarded

    return decorator


def init_app(app: Flask) -> None:
    """Create the exporter for this app (never at import time)."""
    # No default per-request hooks: the request-counting hook feeds those series.
    options: dict = dict(export_defaults=False)
    token = app.config.get("METRICS_TOKEN")
    if token:
        options["metrics_decorator"] = bearer_token_required(token)
    elif app.config.get("APP_ENV") == "production":
        log.warning(
            "METRICS_TOKEN is not set: %s is open to anyone who can reach this "
            "service; set it and give the token to your Prometheus scraper",
            PATH,
        )
    if multiprocess_mode():
        exporter = _GunicornMetrics(app=None, path=PATH, **options)
    else:
        # A registry per app: the default one would refuse a second app's
        # flask_http_* metrics (tests build many apps in one process).
        exporter = _PlainMetrics(app=None, path=PATH, registry=CollectorRegistry(), **options)
    exporter.extra_collectors = [RollupLagCollector(app)]
    exporter.init_app(app)  # registers PATH (and no per-request hook)
    exporter.info(  # as export_defaults did
        "flask_exporter_info", "Information about the Prometheus Flask exporter", version=exporter.version
    )
    agg = app.extensions.get("request_metrics")
    if agg is not None:  # METRICS_ENABLED
        agg.series = RequestSeries(exporter.registry)
    app.extensions["prometheus"] = exporter
