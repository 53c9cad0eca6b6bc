"""Atomic fixed-window counters for the throttles (login, current password, registration).

A throttled action names one or more ``Limit``s (a counter key, its maximum and
its window). ``hit`` is one atomic step: if every counter is below its maximum,
each is incremented and the attempt may proceed; otherwise nothing is counted
and the attempt is refused with the seconds left in the blocking window. The
attempt is counted *before* the work it guards (a password check), so N
concurrent attempts can never all pass a "check, then increment later" gap.

In Redis the step is one Lua script (atomic on the server; works on the
embedded Redis 6.2 too). When Redis is unreachable the same step runs on the
process's ``LocalCounters`` under one lock (see app/core/redis_guard.py).
A window starts with its first hit and is not extended by later ones.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass

from app.core import redis_guard

# KEYS = counters; ARGV = max1, window1, max2, window2, ...
# Returns {1, count1, ttl1, count2, ttl2, ...} when counted, {0, index, ttl} when refused.
_HIT = """
for i = 1, #KEYS do
  local c = tonumber(redis.call('GET', KEYS[i]) or '0')
  if c >= tonumber(ARGV[2 * i - 1]) then
    return {0, i, redis.call('TTL', KEYS[i])}
  end
end
local out = {1}
for i = 1, #KEYS do
  local c = redis.call('INCR', KEYS[i])
  local ttl = redis.call('TTL', KEYS[i])
  if ttl < 0 then
    ttl = tonumber(ARGV[2 * i])
    redis.call('EXPIRE', KEYS[i], ttl)
  end
  out[#out + 1] = c
  out[#out + 1] = ttl
end
return out
"""

# Give back one count per key (an attempt that turned out not to be a failure);
# a key that has expired meanwhile is left absent, never recreated without a TTL.
_RELEASE = """
for i = 1, #KEYS do
  if redis.call('EXISTS', KEYS[i]) == 1 and redis.call('DECR', KEYS[i]) <= 0 then
    redis.call('DEL', KEYS[i])
  end
end
return 1
"""

# One lock for the in-process fallback: "check all, then increment all" must be one step.
_local_lock = threading.Lock()


@dataclass(frozen=True)
class Limit:
    key: str
    max: int
    window: int  # seconds
    scope: str  # reported to the client when this limit refuses


@dataclass
class Decision:
    allowed: bool
    retry_after: int = 0
    scope: str = ""
    counts: tuple[int, ...] = ()  # after this hit, one per limit (when allowed)
    ttls: tuple[int, ...] = ()


def hit(limits: Sequence[Limit]) -> Decision:
    """Count one attempt against every limit, or refuse it without counting anything."""
    keys = [lim.key for lim in limits]
    args = []
    for lim in limits:
        args += [int(lim.max), int(lim.window)]
    res = redis_guard.run_pipeline(lambda pipe: pipe.eval(_HIT, len(keys), *keys, *args))
    if res is None:
        return _hit_local(limits)
    out = [int(x) for x in res[0]]
    if out[0] == 0:
        lim = limits[out[1] - 1]
        return Decision(False, _retry_after(out[2], lim.window), lim.scope)
    return Decision(True, counts=tuple(out[1::2]), ttls=tuple(out[2::2]))


def _hit_local(limits: Sequence[Limit]) -> Decision:
    counters = redis_guard.guard().counters
    with _local_lock:
        for lim in limits:
            count, ttl = counters.get(lim.key)
            if count >= lim.max:
                return Decision(False, _retry_after(ttl, lim.window), lim.scope)
        results = [counters.incr(lim.key, lim.window) for lim in limits]
    return Decision(True, counts=tuple(c for c, _ in results), ttls=tuple(t for _, t in results))


def _retry_after(ttl: int, window: int) -> int:
    return max(1, int(ttl)) if ttl and ttl > 0 else max(1, int(window))


def release(keys: Sequence[str]) -> None:
    """Take back one count from each key (the attempt was not a failure after all)."""
    if not keys:
        return
    counters = redis_guard.guard().counters
    with _local_lock:
        for key in keys:
            count, ttl = counters.get(key)
            if count > 0:
                counters.incr(key, ttl, -1)
    redis_guard.run_pipeline(lambda pipe: pipe.eval(_RELEASE, len(keys), *keys))


def reset(keys: Sequence[str]) -> None:
    """Forget these counters entirely (in Redis and in this process)."""
    if not keys:
        return
    counters = redis_guard.guard().counters
    for key in keys:
        counters.delete(key)
        # Always tried, and queued for replay if Redis is down: an unlock must land.
        redis_guard.write(key, "delete")
