"""A small thread-safe circuit breaker (closed -> open -> half-open -> closed).

* closed: every call goes through; ``failure_threshold`` consecutive failures
  open it (a success resets the count).
* open: calls are refused at once (no network, no timeout to wait for) for
  ``reset_seconds``.
* half-open: after that, exactly one trial call is let through; its success
  closes the breaker, its failure opens it again for another ``reset_seconds``.
  Concurrent callers keep being refused while the trial is in flight; a trial
  that never reports back (its thread died) is replaced after ``reset_seconds``.

State is per process (each gunicorn worker learns on its own that its
upstream is down); that is cheap and needs no shared store. Two upstreams use
it: Argo (app/feed/argo_client.py: five failures open it for ten seconds) and
Redis (app/core/redis_guard.py: one failure opens it for
``REDIS_BREAKER_SECONDS``; callers fall back to SQL or in-process counters).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

CLOSED, HALF_OPEN, OPEN = "closed", "half_open", "open"
# Numeric form for the Prometheus gauge (multiprocess 'max': any worker open -> 2).
STATE_VALUES = {CLOSED: 0, HALF_OPEN: 1, OPEN: 2}


class CircuitBreaker:
    def __init__(
        self,
        failure_threshold: int,
        reset_seconds: float,
        clock: Callable[[], float] = time.monotonic,
        on_state_change: Callable[[str], None] | None = None,
    ) -> None:
        if failure_threshold < 1:
            raise ValueError("failure_threshold must be >= 1")
        self.failure_threshold = failure_threshold
        self.reset_seconds = float(reset_seconds)
        self._clock = clock
        self._on_state_change = on_state_change
        self._lock = threading.Lock()
        self._state = CLOSED
        self._failures = 0
        self._opened_at = 0.0
        self._trial_started_at: float | None = None

    @property
    def state(self) -> str:
        with self._lock:
            return self._state

    def available(self) -> bool:
        """Would ``allow()`` let a call through now? (A look only: takes no trial slot.)"""
        with self._lock:
            return self._state == CLOSED or self._trial_due(self._clock())

    def allow(self) -> bool:
        """May a call go to the upstream now? (Takes the half-open trial slot.)"""
        with self._lock:
            if self._state == CLOSED:
                return True
            now = self._clock()
            if not self._trial_due(now):
                return False
            if self._state == OPEN:
                self._set_state(HALF_OPEN)
            self._trial_started_at = now
            return True

    def _trial_due(self, now: float) -> bool:  # caller holds the lock; state is not closed
        if self._state == OPEN:
            return now - self._opened_at >= self.reset_seconds
        # half-open: one trial at a time; one that never reported back is replaced
        return self._trial_started_at is None or now - self._trial_started_at >= self.reset_seconds

    def record_success(self) -> None:
        if self._state == CLOSED and not self._failures:
            return  # the common case, on every call: no lock to take
        with self._lock:
            self._failures = 0
            self._trial_started_at = None
            if self._state != CLOSED:
                self._set_state(CLOSED)

    def record_failure(self) -> None:
        with self._lock:
            self._failures += 1
            if self._state == HALF_OPEN or self._failures >= self.failure_threshold:
                self._opened_at = self._clock()
                self._trial_started_at = None
                if self._state != OPEN:
                    self._set_state(OPEN)

    def _set_state(self, state: str) -> None:  # caller holds the lock
        self._state = state
        if self._on_state_change is not None:
            self._on_state_change(state)
