"""The breaker's state machine, on a clock the test moves (no sleeping)."""

from __future__ import annotations

import threading

import pytest

from app.core.circuit_breaker import CLOSED, HALF_OPEN, OPEN, CircuitBreaker


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_opens_after_n_consecutive_failures_and_a_success_resets_the_count():
    clock, seen = Clock(), []
    breaker = CircuitBreaker(3, 5.0, clock=clock, on_state_change=seen.append)
    breaker.record_failure()
    breaker.record_failure()
    breaker.record_success()  # not consecutive any more
    breaker.record_failure()
    breaker.record_failure()
    assert breaker.state == CLOSED and breaker.allow()
    breaker.record_failure()
    assert breaker.state == OPEN and seen == [OPEN]
    assert not breaker.allow()


def test_half_open_lets_exactly_one_trial_through_then_closes_or_reopens():
    clock = Clock()
    breaker = CircuitBreaker(1, 5.0, clock=clock)
    breaker.record_failure()
    clock.now += 4.9
    assert not breaker.allow()
    clock.now += 0.2
    assert breaker.allow() and breaker.state == HALF_OPEN
    assert not breaker.allow()  # the trial is in flight
    breaker.record_failure()
    assert breaker.state == OPEN and not breaker.allow()  # re-opened for another 5 s
    clock.now += 5.0
    assert breaker.allow()
    breaker.record_success()
    assert breaker.state == CLOSED and breaker.allow() and breaker.allow()


def test_a_lost_trial_is_replaced_after_the_reset_period():
    clock = Clock()
    breaker = CircuitBreaker(1, 2.0, clock=clock)
    breaker.record_failure()
    clock.now += 2.0
    assert breaker.allow()  # trial taken ... and its thread never reports back
    clock.now += 1.0
    assert not breaker.allow()
    clock.now += 1.0
    assert breaker.allow()


def test_concurrent_callers_get_one_trial():
    clock = Clock()
    breaker = CircuitBreaker(1, 1.0, clock=clock)
    breaker.record_failure()
    clock.now += 1.0
    results, barrier = [], threading.Barrier(8)

    def call():
        barrier.wait()
        results.append(breaker.allow())

    threads = [threading.Thread(target=call) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(results) == [False] * 7 + [True]


def test_rejects_a_zero_threshold():
    with pytest.raises(ValueError):
        CircuitBreaker(0, 1.0)


def test_available_looks_without_taking_the_trial():
    clock = Clock()
    breaker = CircuitBreaker(1, 5.0, clock=clock)
    breaker.record_failure()
    assert not breaker.available()
    clock.now += 5.0
    assert breaker.available() and breaker.available()  # looking twice takes nothing
    assert breaker.allow()  # the trial
    assert not breaker.available() and not breaker.allow()
    breaker.record_success()
    assert breaker.available() and breaker.state == CLOSED
