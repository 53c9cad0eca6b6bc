"""Getting every process's request counters to Redis: the flusher thread and the exit flush.

Each aggregate (app/metrics/aggregator.py) starts one daemon thread in the
process that first counts with it (after a fork too), flushing every
``METRICS_FLUSH_INTERVAL`` seconds; the thread holds the aggregate only weakly,
so a discarded app's counters are not kept alive. On a clean exit, gunicorn's
``worker_exit`` and ``atexit`` both call :func:`flush_all`; a SIGKILLed process
loses at most its last interval.
"""

from __future__ import annotations

import atexit
import logging
import os
import threading
import time
import weakref
from typing import Protocol

log = logging.getLogger(__name__)

EXIT_FLUSH_ATTEMPTS = 3
# Taken while an aggregate binds itself to a process and while atexit is registered.
START_LOCK = threading.Lock()


class Flushable(Protocol):
    interval: float

    @property
    def pid(self) -> int | None: ...

    @property
    def stopped(self) -> threading.Event: ...

    def flush(self) -> bool: ...

    def stop(self) -> None: ...


# Every aggregate in this process, so the exit flush finds them.
_aggregators: weakref.WeakSet = weakref.WeakSet()
_atexit_registered = False


def track(agg: Flushable) -> None:
    global _atexit_registered
    _aggregators.add(agg)
    with START_LOCK:
        if not _atexit_registered:
            atexit.register(flush_all)
            _atexit_registered = True


def start_thread(agg: Flushable) -> threading.Thread:
    thread = threading.Thread(
        target=_loop, args=(weakref.ref(agg),), name="request-metrics-flusher", daemon=True
    )
    thread.start()
    return thread


def _loop(ref: weakref.ref) -> None:
    while True:
        agg = ref()
        if agg is None or agg.stopped.is_set() or agg.pid != os.getpid():
            return
        stop, interval = agg.stopped, agg.interval
        del agg  # don't keep an app's aggregate alive while sleeping
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
    """Final flush of every aggregate of this process (gunicorn worker_exit, atexit)."""
    pid = os.getpid()
    for agg in list(_aggregators):
        if agg.pid == pid:
            agg.stop()
            for attempt in range(EXIT_FLUSH_ATTEMPTS):  # last chance: ride out a blip
                if agg.flush():
                    break
                time.sleep(0.2 * (attempt + 1))


def discard_all() -> None:
    """Stop and forget every aggregate of this process without flushing.

    For a test session's end: the many short-lived apps a test run builds may
    point at Redis servers that are long gone, and their counters mean nothing.
    """
    for agg in list(_aggregators):
        agg.stop()
    _aggregators.clear()
