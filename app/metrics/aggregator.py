"""The per-process aggregate of request counters and how it reaches Redis.

A Redis round trip per request would cost ~90 µs (40% of a bare endpoint), so
each process aggregates in memory, under a lock, and sends the aggregate to
Redis in ONE MULTI/EXEC pipeline every ``METRICS_FLUSH_INTERVAL`` seconds
(0 = inline, on every request; the thread and the exit flush live in
app/metrics/flusher.py).

Keys, per UTC minute: ``(minute, method, status_class, rule) -> [requests,
latency_us]`` and ``(minute, user_id) -> [delivered]``.

The same ``record()`` also feeds the ``flask_http_request_*`` Prometheus
series (app/metrics/series.py) once an app attaches them (``series``): a
second, minute-less aggregate by ``(method, status, rule)`` with latency
bucket counts, handed to Prometheus at the start of every flush, whether or
not Redis then answers. /metrics therefore lags by at most one flush interval.

Redis down: requests are served as usual; the aggregate keeps growing, bounded
by ``METRICS_MAX_BUFFERED_KEYS`` distinct keys (not by requests), and is
flushed when Redis answers again. Increments that would add a new key past the
bound are dropped and counted (``alpine_metrics_dropped_increments_total``).

A flush whose reply is lost (timeout after sending) may or may not have been
applied. The MULTI also writes this process's flush marker (the batch id), so
before re-sending we read the marker: equal to the batch id means it was
applied and the batch is discarded; otherwise it is re-sent. Flushes of one
process are serial, so the marker always names its last applied batch.
"""

from __future__ import annotations

import logging
import os
import threading
import time
import uuid
from bisect import bisect_left

from prometheus_client import Counter, Gauge
from redis.exceptions import RedisError

from app.metrics import flusher, keys
from app.metrics.series import BOUNDS_US, RequestSeries, new_entry

log = logging.getLogger(__name__)

# After a failed inline flush (interval 0), requests skip Redis for this long
# instead of each paying a connection attempt while Redis is down.
INLINE_RETRY_SECONDS = 1.0

DROPPED = Counter(
    "alpine_metrics_dropped_increments_total",
    "Request-metric increments dropped because the in-memory buffer was full",
    ["kind"],
)
BUFFERED = Gauge(
    "alpine_metrics_buffered_keys",
    "Distinct request-metric keys waiting in memory for Redis",
    multiprocess_mode="livesum",
)
FLUSH_FAILURES = Counter(
    "alpine_metrics_flush_failures_total", "Flushes of the request-metric buffer to Redis that failed"
)


class _Batch:
    """A frozen aggregate on its way to Redis, named so a resend can be detected."""

    __slots__ = ("id", "data", "ambiguous")

    def __init__(self, data: dict):
        self.id = uuid.uuid4().hex
        self.data = data
        self.ambiguous = False  # a send was attempted and its outcome is unknown


def _merge(into: dict, data: dict) -> None:
    for key, values in data.items():
        have = into.get(key)
        if have is None:
            into[key] = values
        else:
            for i, v in enumerate(values):
                have[i] += v


class RequestMetrics:
    """The per-process aggregate and its flusher.

    Keys: ``(minute, method, status_class, rule) -> [requests, latency_us]``
    and ``(minute, user_id) -> [delivered]``.
    """

    def __init__(self, redis_store, interval: float, max_keys: int):
        self._redis = redis_store
        self.interval = float(interval)
        self.max_keys = int(max_keys)
        self._marker = keys.flush_marker(uuid.uuid4().hex)
        # The flask_http_request_* series this aggregate feeds (set by
        # app/metrics/prometheus.py); None: count for Redis only.
        self.series: RequestSeries | None = None
        self._reset_process_state()
        flusher.track(self)

    def _reset_process_state(self) -> None:
        # Also called in a forked child: the aggregate belongs to the parent,
        # and a lock copied while held would never be released.
        self._lock = threading.Lock()  # guards _current and _pending_keys
        self._flush_lock = threading.Lock()  # one flush at a time
        self._current: dict = {}
        self._prom: dict = {}  # (method, status, rule) -> series entry, since the last export
        self._prom_unhandled: dict = {}  # method -> unhandled errors, since the last export
        self._pending: _Batch | None = None
        self._pending_keys = 0
        self._overlap = 0  # keys of _current that the pending batch holds too
        self._retry_at = 0.0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._pid: int | None = None

    # -- recording (request threads) -------------------------------------------------

    def record(
        self,
        minute: int,
        method: str,
        status: int,
        rule: str,
        latency_us: int,
        user_id: int | None = None,
        delivered: int = 0,
        unhandled: bool = False,
    ) -> None:
        """One request: ``status`` is the HTTP status code (Redis keeps its class);
        ``unhandled``: it died with an unhandled error (answered 500)."""
        if self._pid != os.getpid():
            self._start()
        dropped_requests = dropped_deliveries = 0
        with self._lock:
            if self.series is not None:
                # Bounded by the label sets themselves (8 methods x routes x codes),
                # and emptied by every export.
                pkey = (method, status, rule)
                pentry = self._prom.get(pkey)
                if pentry is None:
                    pentry = self._prom[pkey] = new_entry()
                pentry[0] += 1
                pentry[1] += latency_us
                pentry[2 + bisect_left(BOUNDS_US, latency_us)] += 1  # its latency bucket
                if unhandled:
                    self._prom_unhandled[method] = self._prom_unhandled.get(method, 0) + 1
            current = self._current
            key = (minute, method, status // 100, rule)
            entry = current.get(key)
            if entry is not None:
                entry[0] += 1
                entry[1] += latency_us
            elif self._admit(key):
                current[key] = [1, latency_us]
            else:
                dropped_requests = 1
            if delivered:
                ukey = (minute, user_id or 0)
                entry = current.get(ukey)
                if entry is not None:
                    entry[0] += delivered
                elif self._admit(ukey):
                    current[ukey] = [delivered]
                else:
                    dropped_deliveries = 1
        if dropped_requests:
            DROPPED.labels("requests").inc()
        if dropped_deliveries:
            DROPPED.labels("deliveries").inc()
        if self.interval <= 0:
            if time.monotonic() >= self._retry_at:
                if not self.flush():
                    self._retry_at = time.monotonic() + INLINE_RETRY_SECONDS
            else:
                self._export_safely()  # Redis is skipped for a while, Prometheus is not

    def _admit(self, key) -> bool:
        """May ``key`` be added to the aggregate? (lock held; the bound is on distinct keys)"""
        if self._pending is not None and key in self._pending.data:
            self._overlap += 1  # merges into the pending batch: not a new key
            return True
        return len(self._current) - self._overlap + self._pending_keys < self.max_keys

    @property
    def buffered_keys(self) -> int:
        with self._lock:
            return len(self._current) - self._overlap + self._pending_keys

    # -- flushing (flusher thread, inline, exit) -------------------------------------

    def export_prometheus(self) -> None:
        """Hand what was counted since the last export to the Prometheus series."""
        series = self.series
        if series is None:
            return
        with self._lock:
            requests, self._prom = self._prom, {}
            unhandled, self._prom_unhandled = self._prom_unhandled, {}
        if requests or unhandled:
            series.export(requests, unhandled)

    def _export_safely(self) -> None:
        try:
            self.export_prometheus()
        except Exception:  # noqa: BLE001 - neither a request nor the Redis flush may fail for it
            log.exception("request metrics: Prometheus export failed")

    def flush(self) -> bool:
        """Export to Prometheus, then send everything aggregated so far to Redis.
        False if Redis failed (kept for the next flush)."""
        self._export_safely()
        with self._flush_lock:
            try:
                return self._flush_locked()
            except RedisError as exc:
                FLUSH_FAILURES.inc()
                log.warning(
                    "request metrics: flush to Redis failed (%s); %d keys kept in memory",
                    exc.__class__.__name__,
                    self.buffered_keys,
                )
                return False
            finally:
                BUFFERED.set(self.buffered_keys)

    def _flush_locked(self) -> bool:
        client = self._redis.client
        pending = self._pending
        if pending is not None and pending.ambiguous:
            applied = client.get(self._marker)
            if applied is not None and applied.decode() == pending.id:
                with self._lock:
                    self._pending, self._pending_keys, self._overlap = None, 0, 0
                pending = None
            else:
                pending.ambiguous = False  # definitely not applied: safe to resend
        with self._lock:
            current, self._current, self._overlap = self._current, {}, 0
            if pending is None:
                if not current:
                    return True
                pending = self._pending = _Batch(current)
            else:
                _merge(pending.data, current)
            self._pending_keys = len(pending.data)
        pending.ambiguous = True  # until EXEC's reply says otherwise
        self._send(client, pending)
        with self._lock:
            self._pending, self._pending_keys, self._overlap = None, 0, 0
        return True

    def _send(self, client, batch: _Batch) -> None:
        pipe = client.pipeline(transaction=True)
        minutes = set()
        for key, values in batch.data.items():
            minute = key[0]
            mkey = keys.minute_key(minute)
            minutes.add(minute)
            if len(key) == 4:
                _, method, status_class, rule = key
                pipe.hincrby(mkey, keys.request_field(keys.REQUESTS, method, status_class, rule), values[0])
                pipe.hincrby(mkey, keys.request_field(keys.LATENCY, method, status_class, rule), values[1])
            else:
                pipe.hincrby(mkey, keys.delivered_field(key[1]), values[0])
        pipe.zadd(keys.MINUTE_INDEX, {str(m): m for m in minutes})
        pipe.set(self._marker, batch.id, ex=86400)
        pipe.execute()

    # -- process lifecycle -----------------------------------------------------------

    def _start(self) -> None:
        """First use in this process (after a fork too): start the flusher."""
        with flusher.START_LOCK:
            pid = os.getpid()
            if self._pid == pid:
                return
            if self._pid is not None:  # forked child of a process that counted
                self._reset_process_state()
            self._pid = pid
            if self.interval > 0:
                self._thread = flusher.start_thread(self)

    @property
    def pid(self) -> int | None:
        """The process this aggregate counts for (None until its first request)."""
        return self._pid

    @property
    def stopped(self) -> threading.Event:
        return self._stop

    def stop(self) -> None:
        self._stop.set()
