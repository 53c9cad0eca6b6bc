"""Redis for the accounts features, with fallbacks: no request fails because of Redis.

No request may fail because of Redis. Three tools for that, per process and
per app (``app.extensions["accounts_redis"]``, so test apps don't share them):

* ``breaker``: the circuit breaker (app/core/circuit_breaker.py) opened by a
  single Redis error: *reads* skip Redis for ``REDIS_BREAKER_SECONDS`` (the
  callers fall back to SQL or to the in-process counters), then one trial
  pipeline tells whether Redis is back. A hung Redis costs one socket timeout
  per process and window, not one per request. Writes that matter for
  correctness (cache invalidations, revocations) are always attempted,
  breaker or not, and a failed one opens it too.
* ``LocalCounters``: fixed-window counters in process memory (login
  throttling and quotas while Redis is unreachable). Bounded: expired windows
  are pruned, and past ``max_keys`` the oldest window is dropped.
* ``pending``: invalidations and revocations that could not be written to
  Redis are retried by this process in front of its next Redis pipeline
  (covers a Redis that was unreachable but kept its data).
"""

from __future__ import annotations

import hashlib
import logging
import threading
import time
from typing import Any

from flask import Flask, current_app
from redis.connection import Connection
from redis.exceptions import NoScriptError, RedisError, ResponseError

from app.core.circuit_breaker import CLOSED, OPEN, CircuitBreaker
from app.extensions import redis_store

log = logging.getLogger(__name__)

# Any of these means "Redis did not answer properly": fall back, never fail.
REDIS_ERRORS = (RedisError, OSError)


def client():
    return redis_store.client


def _breaker(seconds: float) -> CircuitBreaker:
    def log_change(state: str) -> None:
        if state == OPEN:
            log.warning("redis unavailable; using fallbacks for %.1fs", seconds)
        elif state == CLOSED:
            log.info("redis reachable again")

    return CircuitBreaker(1, seconds, on_state_change=log_change)


class LocalCounters:
    """Thread-safe fixed-window counters: ``key -> (count, window end)``."""

    def __init__(self, max_keys: int = 100_000) -> None:
        self._data: dict[str, list] = {}
        self._lock = threading.Lock()
        self.max_keys = max_keys

    def _live(self, key: str, now: float):
        entry = self._data.get(key)
        if entry is not None and entry[1] <= now:
            del self._data[key]
            return None
        return entry

    def incr(self, key: str, window: float, amount: int = 1) -> tuple[int, int]:
        """Add ``amount``; return (count, seconds left in the window)."""
        now = time.monotonic()
        with self._lock:
            entry = self._live(key, now)
            if entry is None:
                if len(self._data) >= self.max_keys:
                    self._prune(now)
                entry = self._data[key] = [0, now + window]
            entry[0] = max(0, entry[0] + amount)
            return entry[0], max(1, int(entry[1] - now + 0.999))

    def get(self, key: str) -> tuple[int, int]:
        now = time.monotonic()
        with self._lock:
            entry = self._live(key, now)
            if entry is None:
                return 0, 0
            return entry[0], max(1, int(entry[1] - now + 0.999))

    def delete(self, key: str) -> None:
        with self._lock:
            self._data.pop(key, None)

    def _prune(self, now: float) -> None:
        for k in [k for k, (_, end) in self._data.items() if end <= now]:
            del self._data[k]
        while len(self._data) >= self.max_keys:  # still full: drop the oldest window
            del self._data[next(iter(self._data))]

    def clear(self) -> None:
        with self._lock:
            self._data.clear()


class PendingWrites:
    """Redis writes that failed; replayed in front of the next pipeline of this process."""

    def __init__(self, max_items: int = 10_000) -> None:
        self._ops: dict[str, tuple] = {}
        self._lock = threading.Lock()
        self.max_items = max_items

    def add_delete(self, key: str) -> None:
        self._add(key, ("delete",))

    def add_set(self, key: str, value: bytes, ttl: int) -> None:
        self._add(key, ("set", value, time.time() + ttl))

    def _add(self, key: str, op: tuple) -> None:
        with self._lock:
            if len(self._ops) >= self.max_items:
                self._ops.pop(next(iter(self._ops)))
            self._ops[key] = op

    def __bool__(self) -> bool:
        return bool(self._ops)

    def take(self) -> dict[str, tuple]:
        with self._lock:
            ops, self._ops = self._ops, {}
        return ops

    def restore(self, ops: dict[str, tuple]) -> None:
        with self._lock:
            for key, op in ops.items():
                self._ops.setdefault(key, op)

    @staticmethod
    def queue_on(pipe, ops: dict[str, tuple]) -> None:
        now = time.time()
        for key, op in ops.items():
            if op[0] == "delete":
                pipe.delete(key)
            elif op[2] > now:
                pipe.set(key, op[1], ex=max(1, int(op[2] - now)))


class RedisGuard:
    def __init__(self, breaker_seconds: float = 1.0) -> None:
        self.breaker = _breaker(breaker_seconds)
        self.counters = LocalCounters()
        self.pending = PendingWrites()


def init_app(app: Flask) -> None:
    app.extensions["accounts_redis"] = RedisGuard(float(app.config.get("REDIS_BREAKER_SECONDS", 1.0)))


def guard() -> RedisGuard:
    return current_app.extensions["accounts_redis"]


def run_pipeline(build) -> list | None:
    """Run one non-transactional pipeline (one round trip), pending writes first.

    ``build(pipe)`` queues the caller's commands. Returns the caller's results,
    or None when Redis is unavailable (breaker open or the call failed).
    """
    g = guard()
    breaker, pending = g.breaker, g.pending
    if not breaker.allow():
        return None
    ops = pending.take() if pending else {}
    try:
        pipe = client().pipeline(transaction=False)
        PendingWrites.queue_on(pipe, ops)
        skip = len(pipe)
        build(pipe)
        results = pipe.execute()
    except REDIS_ERRORS as exc:
        pending.restore(ops)
        failed(exc)
        return None
    breaker.record_success()
    return results[skip:]


class ThreadConnections(threading.local):
    """Each request thread's own connection to the app's Redis (no pool, no pipeline).

    The hottest Redis call (the feed's quota slot) is one small script: through
    a pipeline and the shared pool it cost ~160 µs of CPU here, as one command
    on a connection the thread keeps ~55 µs (measured side by side with
    process_time). One per thread (gunicorn's gthread pool is fixed), a
    redis-py ``Connection`` made by the app client's pool (its settings,
    timeouts included); a new pool (another app, a fork) replaces it.
    """

    pool = None
    connection: Connection | None = None

    def execute(self, *args) -> Any:
        """Send one command and read its answer (redis-py's Connection API)."""
        pool = client().connection_pool
        conn = self.connection
        if conn is None or self.pool is not pool:
            if conn is not None:
                conn.disconnect()
            conn = self.connection = pool.make_connection()
            self.pool = pool
        try:
            conn.send_command(*args)  # connects first if need be
            return conn.read_response()
        except ResponseError:
            raise  # Redis answered (e.g. NOSCRIPT): the connection is fine
        except BaseException:
            conn.disconnect()  # half-sent or half-read: never reuse it
            raise


_thread_connections = ThreadConnections()


def run_script(script: str, sha: str, keys: list[str], args: list) -> Any:
    """EVALSHA ``script`` (EVAL when Redis does not know it yet) on this thread's
    connection: one command, one round trip. None when Redis is unavailable.
    Pending writes go first, through :func:`run_pipeline`."""
    g = guard()
    if g.pending:
        res = run_pipeline(lambda pipe: pipe.eval(script, len(keys), *keys, *args))
        return None if res is None else res[0]
    if not g.breaker.allow():
        return None
    try:
        try:
            result = _thread_connections.execute("EVALSHA", sha, len(keys), *keys, *args)
        except NoScriptError:  # a restarted or flushed Redis forgot it
            result = _thread_connections.execute("EVAL", script, len(keys), *keys, *args)
    except REDIS_ERRORS as exc:
        failed(exc)
        return None
    g.breaker.record_success()
    return result


def script_sha(script: str) -> str:
    """The SHA1 Redis names ``script`` by (for :func:`run_script`)."""
    return hashlib.sha1(script.encode()).hexdigest()


def failed(exc: BaseException) -> None:
    """A Redis call failed: open the breaker (reads use the fallbacks for a while)."""
    log.debug("redis call failed: %s", exc.__class__.__name__)
    guard().breaker.record_failure()


def write(key: str, op: str, value: bytes | None = None, ttl: int | None = None) -> bool:
    """A write that must land (invalidation / revocation): always tried, queued on failure.

    ``op`` is ``"delete"``, or ``"set"`` with both ``value`` and ``ttl``."""
    if op != "delete" and (value is None or ttl is None):
        raise ValueError("a set that must land needs a value and a ttl")
    g = guard()
    try:
        if op == "delete":
            client().delete(key)
        else:
            client().set(key, value, ex=ttl)
        return True
    except REDIS_ERRORS as exc:
        failed(exc)
        if op == "delete" or value is None or ttl is None:
            g.pending.add_delete(key)
        else:
            g.pending.add_set(key, value, ttl)
        return False
