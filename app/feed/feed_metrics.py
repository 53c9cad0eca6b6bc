"""Prometheus objects of the Alpine -> Argo client and the signal feed.

Module-level on purpose (prometheus_client registers each name once per
process in the default registry); Alpine's /metrics (app/metrics/prometheus.py) exports the
default registry, and in multiprocess mode the values are aggregated across
gunicorn workers from PROMETHEUS_MULTIPROC_DIR.
"""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

ARGO_REQUEST_SECONDS = Histogram(
    "alpine_argo_request_seconds",
    "Latency of Alpine's calls to Argo (including urllib3 retries).",
    ["endpoint"],
    buckets=(0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0),
)
ARGO_FAILURES = Counter(
    "alpine_argo_failures_total",
    "Alpine's calls to Argo that failed (connect, timeout, status, invalid_response).",
    ["reason"],
)
ARGO_SHORT_CIRCUITS = Counter(
    "alpine_argo_short_circuits_total",
    "Calls to Argo skipped because the circuit breaker was open.",
)
# 0 closed, 1 half-open, 2 open. 'max': the worst worker wins.
ARGO_BREAKER_STATE = Gauge(
    "alpine_argo_breaker_state",
    "Circuit breaker in front of Argo: 0 closed, 1 half-open, 2 open.",
    multiprocess_mode="max",
)
SIGNALS_REJECTED = Counter(
    "alpine_signals_rejected_total",
    "Signals from Argo that failed verification (sha256 mismatch or malformed); never stored or served.",
    ["reason", "source"],
)
FEED_STALE_RESPONSES = Counter(
    "alpine_feed_stale_responses_total",
    "Feed responses served from Alpine's local copy (stale: true).",
)
FEED_WINDOW_POLLS = Counter(
    "alpine_feed_window_polls_total",
    "The feed window's polls of Argo: unchanged (304), changed (a new window), failed (window withdrawn).",
    ["result"],
)
