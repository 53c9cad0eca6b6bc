"""Requests per key per UTC day, and ``last_used_at`` at most once a minute per key.

A Redis round trip per request would cost as much as the rest of the key's
checks, so each process counts in memory (under a lock) and sends what it
has in one pipeline at most every ``API_KEY_USAGE_FLUSH_SECONDS`` (default 1;
0 = on every request), from the ``after_request`` of a key request, and once
more at a clean exit (``atexit``):

* ``HINCRBY alpine:apikey:requests:<YYYY-MM-DD> <key id> n`` (the hash expires
  after ``RETENTION_DAYS``): the usage view reads today's numbers live;
* ``SET alpine:apikey:lu:<key id> 1 NX EX 60`` for each key this process has
  not stamped for a minute: only the process that wins the ``SET NX`` writes
  ``last_used_at`` to SQL, so that column is written at most once a minute per
  key across every worker (no SQL write per request).

Redis down: counts wait in memory (bounded by ``MAX_PENDING`` distinct
(day, key) pairs; past it new pairs are dropped) and each process stamps
``last_used_at`` at most once a minute on its own. A SIGKILLed worker loses
at most its last interval of counts.
"""

from __future__ import annotations

import atexit
import logging
import threading
import time
import weakref
from datetime import date, timedelta

from flask import Flask, current_app
from redis.client import Pipeline

from app.core import redis_guard

log = logging.getLogger(__name__)

RETENTION_SECONDS = 8 * 24 * 3600
LAST_USED_SECONDS = 60
MAX_PENDING = 10_000


def day_key(day: str) -> str:
    return f"alpine:apikey:requests:{day}"


def last_used_key(key_id: int) -> str:
    return f"alpine:apikey:lu:{key_id}"


_EPOCH = date(1970, 1, 1)


def utc_day_number() -> int:
    """Days since 1970-01-01 (UTC): cheaper per request than formatting a date."""
    return int(time.time() // 86400)


def day_string(number: int) -> str:
    return (_EPOCH + timedelta(days=number)).isoformat()


class KeyUsage:
    """One per app: pending counts and the last time this process stamped each key."""

    def __init__(self, app: Flask) -> None:
        self.app = weakref.ref(app)
        self.lock = threading.Lock()
        self.flush_lock = threading.Lock()
        self.pending: dict[tuple[int, int], int] = {}  # (UTC day number, key id) -> requests
        self.stamped: dict[int, float] = {}  # key id -> monotonic time of our last stamp attempt
        self.used: set[int] = set()
        self.last_flush = 0.0

    def record(self, key_id: int) -> None:
        entry = (utc_day_number(), key_id)
        with self.lock:
            if entry in self.pending or len(self.pending) < MAX_PENDING:
                self.pending[entry] = self.pending.get(entry, 0) + 1
            self.used.add(key_id)

    def due(self, interval: float) -> bool:
        return time.monotonic() - self.last_flush >= interval

    def pending_on(self, day: date, key_ids: list[int]) -> dict[int, int]:
        number = (day - _EPOCH).days
        with self.lock:
            return {k: self.pending.get((number, k), 0) for k in key_ids}

    def flush(self) -> None:
        """Send the pending counts and stamp ``last_used_at`` where due (needs an app context)."""
        if not self.flush_lock.acquire(blocking=False):
            return  # another thread of this process is flushing
        try:
            self._flush()
        finally:
            self.flush_lock.release()

    def _flush(self) -> None:
        now = time.monotonic()
        self.last_flush = now
        with self.lock:
            counts, self.pending = self.pending, {}
            used, self.used = self.used, set()
        to_stamp = [k for k in used if now - self.stamped.get(k, -1e9) >= LAST_USED_SECONDS]
        if not counts and not to_stamp:
            return

        def build(pipe: Pipeline) -> None:
            for (day, key_id), n in counts.items():
                pipe.hincrby(day_key(day_string(day)), str(key_id), n)
            for day in {day for day, _ in counts}:
                pipe.expire(day_key(day_string(day)), RETENTION_SECONDS)
            for key_id in to_stamp:
                pipe.set(last_used_key(key_id), 1, nx=True, ex=LAST_USED_SECONDS)

        res = redis_guard.run_pipeline(build)
        if res is None:  # Redis unavailable: keep the counts, stamp on our own
            with self.lock:
                for entry, n in counts.items():
                    if entry in self.pending or len(self.pending) < MAX_PENDING:
                        self.pending[entry] = self.pending.get(entry, 0) + n
            winners = to_stamp
        else:
            won = res[len(counts) + len({day for day, _ in counts}) :]
            winners = [k for k, ok in zip(to_stamp, won, strict=True) if ok]
        for key_id in to_stamp:
            self.stamped[key_id] = now
        if len(self.stamped) > MAX_PENDING:
            self.stamped.clear()
        if winners:
            from app.keys import service

            try:
                service.touch(winners)
            except Exception:  # noqa: BLE001 - a usage stamp never fails a request
                log.warning("could not write last_used_at for %d API key(s)", len(winners), exc_info=True)


def _usage() -> KeyUsage:
    return current_app.extensions["api_key_usage"]


def record(key_id: int) -> None:
    usage = _usage()
    usage.record(key_id)
    if usage.due(float(current_app.config.get("API_KEY_USAGE_FLUSH_SECONDS", 1.0))):
        usage.flush()


def flush() -> None:
    _usage().flush()


def counts(key_ids: list[int], day: date) -> dict[int, int]:
    """Requests per key on ``day`` (UTC): Redis plus this process's unsent counts."""
    if not key_ids:
        return {}
    local = _usage().pending_on(day, key_ids)
    res = redis_guard.run_pipeline(
        lambda pipe: pipe.hmget(day_key(day.isoformat()), [str(k) for k in key_ids])
    )
    stored = res[0] if res is not None else [None] * len(key_ids)
    return {k: int(v or 0) + local[k] for k, v in zip(key_ids, stored, strict=True)}


def requests_today(user_id: int, day: date) -> list[dict]:
    """The usage report's ``keys``: the user's live keys and their requests on ``day``."""
    from app.keys import service

    rows = service.list_keys(user_id)
    by_key = counts([row.id for row in rows], day)
    return [{"id": row.id, "name": row.name, "requests_today": by_key[row.id]} for row in rows]


_instances: weakref.WeakSet[KeyUsage] = weakref.WeakSet()


def _flush_all_at_exit() -> None:
    for usage in list(_instances):
        app = usage.app()
        if app is None:
            continue
        try:
            with app.app_context():
                usage.flush()
        except Exception:  # noqa: BLE001 - best effort at exit
            log.warning("API key usage not flushed at exit", exc_info=True)


_atexit_registered = False


def init_app(app: Flask) -> None:
    global _atexit_registered
    usage = KeyUsage(app)
    app.extensions["api_key_usage"] = usage
    _instances.add(usage)
    if not _atexit_registered:
        atexit.register(_flush_all_at_exit)
        _atexit_registered = True
