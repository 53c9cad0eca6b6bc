"""The per-request Prometheus series, fed in batches by the request aggregate.

The request hook (app/metrics/request.py) already aggregates every request in
memory for Redis; the same ``record()`` also adds it to a small Prometheus
aggregate, ``(method, status, url rule) -> [count, latency sum µs, one count
per latency bucket]`` (the bucket found by a bisect on fixed bounds), and the
flusher hands that aggregate to :meth:`RequestSeries.export` once per
``METRICS_FLUSH_INTERVAL`` (app/metrics/flusher.py; inline with interval 0,
once more at a clean exit). So a scrape lags live traffic by at most one flush
interval (1 s by default), and a SIGKILLed worker loses at most its last
interval here too. The export does not wait for Redis: while Redis is down
these series keep moving.

This replaces prometheus-flask-exporter's default per-request hooks
(``export_defaults``): those cost ~8-10% of a worker's CPU per request under
gunicorn; the same names and labels are kept, so dashboards see no change
(except that an unmatched URL's ``url_rule`` is ``<unmatched>``, as in the
analytics tables, where the exporter wrote ``None``):

- ``flask_http_request_total{method, status}``
- ``flask_http_request_duration_seconds{method, url_rule, status}`` (histogram,
  prometheus_client's default buckets)
- ``flask_http_request_exceptions_total{method, status}`` (unhandled errors, 500)

Labels are a closed set: ``method`` is one of seven or ``OTHER``
(httpkit/methods.py), ``url_rule`` a route of the app or ``<unmatched>``,
``status`` a status code the app answered. ``/metrics`` and ``/health`` are
not counted.

Several gunicorn workers: the series are ordinary prometheus_client metrics,
so in multiprocess mode (``PROMETHEUS_MULTIPROC_DIR``) every worker's batches
land in its own files and a scrape, answered by any worker, sums them.
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Histogram

# prometheus_client's default histogram buckets (what the exporter used), in seconds
# and in whole microseconds: ``latency_us <= BOUNDS_US[i]`` <=> ``seconds <= BUCKETS[i]``.
BUCKETS: tuple[float, ...] = tuple(b for b in Histogram.DEFAULT_BUCKETS if b != float("inf"))
BOUNDS_US: tuple[int, ...] = tuple(round(b * 1_000_000) for b in BUCKETS)
# An aggregate entry: [requests, latency sum µs, bucket 0 .. bucket n-1, +Inf bucket];
# a request of ``latency_us`` counts in ``entry[2 + bisect_left(BOUNDS_US, latency_us)]``.
ENTRY_SIZE = 2 + len(BOUNDS_US) + 1


def new_entry() -> list:
    return [0] * ENTRY_SIZE


class RequestSeries:
    """The ``flask_http_request_*`` metrics of one app, in ``registry``."""

    def __init__(self, registry: CollectorRegistry):
        self.total = Counter(
            "flask_http_request_total",
            "Total number of HTTP requests",
            ("method", "status"),
            registry=registry,
        )
        self.exceptions = Counter(
            "flask_http_request_exceptions_total",
            "Total number of HTTP requests which resulted in an exception",
            ("method", "status"),
            registry=registry,
        )
        self.duration = Histogram(
            "flask_http_request_duration_seconds",
            "Flask HTTP request duration in seconds",
            ("method", "url_rule", "status"),
            buckets=BUCKETS,
            registry=registry,
        )

    def export(self, requests: dict, unhandled: dict) -> None:
        """Add one flush's aggregate: ``(method, status, rule) -> entry`` and
        ``method -> unhandled errors``."""
        for (method, status, rule), entry in requests.items():
            code = str(status)
            self.total.labels(method, code).inc(entry[0])
            child = self.duration.labels(method, rule, code)
            # A batch of observations at once. prometheus_client has no public call
            # for it, so this adds to the histogram's own values, exactly what
            # observe() does once per observation: the sum, and the count of the
            # first bucket whose bound holds the value (buckets are made cumulative
            # at collection, in one process or summed over the multiprocess files).
            # tests/metrics/test_prometheus.py checks the result against observe().
            child._sum.inc(entry[1] / 1_000_000)
            for bucket, n in zip(child._buckets, entry[2:], strict=True):
                if n:
                    bucket.inc(n)
        for method, n in unhandled.items():
            self.exceptions.labels(method, "500").inc(n)
