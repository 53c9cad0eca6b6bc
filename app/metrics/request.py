"""Counting every Alpine request, nearly for free.

Three hooks (before/after/teardown request) and ``init_app``, in the spirit of
redash's ``metrics/request.py``. A Redis round trip per request would cost
~90 µs (40% of a bare endpoint), so each process aggregates in memory, under a
lock, and a flusher thread sends the aggregate to Redis in ONE MULTI/EXEC
pipeline every ``METRICS_FLUSH_INTERVAL`` seconds (0 = inline, on every
request), and once more when the process exits cleanly (gunicorn
``worker_exit`` and ``atexit`` both call :func:`flush_all`). A SIGKILLed
process loses at most its last interval.

What is counted, per UTC minute: requests and latency sum (µs) per url rule
(``/api/users/me``, never the raw path; ``<unmatched>`` when no route
matched), method (one of seven, else ``OTHER``: httpkit/methods.py) and
status class; and signals delivered per user (a view sets
``flask.g.signals_delivered``). ``/metrics`` and ``/health`` are not counted.

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

import atexit
import logging
import os
import threading
import time
import uuid
import weakref

from flask import Flask, g, request, request_started
from prometheus_client import Counter, Gauge
from redis.exceptions import RedisError

from app.metrics import keys
from httpkit.methods import method_label

log = logging.getLogger(__name__)

UNMATCHED = "<unmatched>"
EXCLUDED_PATHS = frozenset({"/metrics", "/health"})
START_KEY = "alpine.metrics.start"
# After a failed inline flush (interval 0), requests skip Redis for this long
# instead of each paying a connection attempt while Redis is down.
INLINE_RETRY_SECONDS = 1.0
EXIT_FLUSH_ATTEMPTS = 3

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

# Every aggregator in this process, so the exit flush finds them.
_aggregators: weakref.WeakSet[RequestMetrics] = weakref.WeakSet()


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
        self._reset_process_state()
        _aggregators.add(self)

    def _reset_process_state(self) -> None:
        # Also called in a forked child: the aggregate belongs to the parent,
        # and a lock copied while held would never be released.
        self._lock = threading.Lock()  # guards _current and _pending_keys
        self._flush_lock = threading.Lock()  # one flush at a time
        self._current: dict = {}
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
        status_class: int,
        rule: str,
        latency_us: int,
        user_id: int | None = None,
        delivered: int = 0,
    ) -> None:
        if self._pid != os.getpid():
            self._start()
        dropped_requests = dropped_deliveries = 0
        with self._lock:
            current = self._current
            key = (minute, method, status_class, rule)
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
        if self.interval <= 0 and time.monotonic() >= self._retry_at:
            if not self.flush():
                self._retry_at = time.monotonic() + INLINE_RETRY_SECONDS

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

    def flush(self) -> bool:
        """Send everything aggregated so far to Redis. False if Redis failed (kept)."""
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
        with _start_lock:
            pid = os.getpid()
            if self._pid == pid:
                return
            if self._pid is not None:  # forked child of a process that counted
                self._reset_process_state()
            self._pid = pid
            if self.interval > 0:
                self._thread = threading.Thread(
                    target=_flusher_loop,
                    args=(weakref.ref(self),),
                    name="request-metrics-flusher",
                    daemon=True,
                )
                self._thread.start()

    def stop(self) -> None:
        self._stop.set()


_start_lock = threading.Lock()


def _flusher_loop(ref) -> None:
    while True:
        agg = ref()
        if agg is None or agg._stop.is_set() or agg._pid != os.getpid():
            return
        stop, interval = agg._stop, agg.interval
        del agg  # don't keep an app's aggregator alive while sleeping
        if stop.wait(interval):
            return
        agg = ref()
        if agg is None:
            return
        try:
            agg.flush()
        except Exception:  # noqa: BLE001 - the flusher must survive anything
            log.exception("request metrics: flusher error")
        del agg


def flush_all() -> None:
    """Final flush of every aggregator of this process (gunicorn worker_exit, atexit)."""
    pid = os.getpid()
    for agg in list(_aggregators):
        if agg._pid == pid:
            agg.stop()
            for attempt in range(EXIT_FLUSH_ATTEMPTS):  # last chance: ride out a blip
                if agg.flush():
                    break
                time.sleep(0.2 * (attempt + 1))


def discard_all() -> None:
    """Stop and forget every aggregator of this process without flushing.

    For a test session's end: the many short-lived apps a test run builds may
    point at Redis servers that are long gone, and their counters mean nothing.
    """
    for agg in list(_aggregators):
        agg.stop()
    _aggregators.clear()


_atexit_registered = False


def _register_atexit() -> None:
    global _atexit_registered
    with _start_lock:
        if not _atexit_registered:
            atexit.register(flush_all)
            _atexit_registered = True


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
    _register_atexit()
    for kind in ("requests", "deliveries"):
        DROPPED.labels(kind)  # export 0, not nothing, until something is dropped

    # The start time lives in the WSGI environ (one proxy lookup, no ``g``).
    def record(req, status_code: int, start: float) -> None:
        now = time.time()
        rule = req.url_rule
        delivered = g.pop("signals_delivered", None) or 0
        agg.record(
            int(now // 60),
            method_label(req.method),
            status_code // 100,
            rule.rule if rule is not None else UNMATCHED,
            int((time.perf_counter() - start) * 1_000_000),
            _current_user_id() if delivered else None,
            int(delivered),
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
            record(req, 500, start)
