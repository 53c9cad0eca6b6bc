"""Roll closed minutes of request counters from Redis into SQL, exactly once.

Key layout: see app/metrics/keys.py. Tables: request_metrics_minute,
signal_deliveries_daily, rollup_batches (app/metrics/models.py).

The design, and why each failure neither loses nor double-counts:

1. Claim. For every minute in the ``metrics:minutes`` index that closed more
   than ``METRICS_ROLLUP_GRACE_SECONDS`` ago, one Lua script (atomic) RENAMEs
   ``metrics:m:<minute>`` to ``metrics:p:<minute>:<batch>`` (``<batch>`` a fresh
   uuid), adds that name to the ``metrics:processing`` set and drops the minute
   from the index. A flush is a MULTI, so it lands wholly before the claim
   (and is in the batch) or wholly after it (a late flush: it recreates the
   minute's hash and re-adds the index entry, and the next rollup claims it
   as a new batch whose rows are *added*). Two rollups claiming the same
   minute: the script is atomic, only one finds the hash.
2. Commit (app/metrics/rollup_sql.py). For each processing key: HGETALL, then ONE SQL transaction that
   first INSERTs the batch id into ``rollup_batches`` (primary key), then
   upsert-increments the rows (INSERT .. ON CONFLICT DO UPDATE SET x = x +
   excluded.x, on PostgreSQL and SQLite). If the batch id is already there
   (a rollup committed it and died before step 3, or a concurrent rollup is
   committing it right now: PostgreSQL makes us wait on the unique index),
   the INSERT fails, nothing is added, and we only do step 3.
3. Forget. After the commit: DEL the processing key, SREM it from the set
   (one script, which also adds the batch's set-aside count to
   ``metrics:rejected_rows`` when, and only when, its SREM removed the key:
   so the count is added once whichever run gets there).

No row can block a minute (app/metrics/rollup_rows.py, rollup_sql.py): fields that no
request hook could have written are set aside while parsing, and if the
database still refuses the batch's upsert (PostgreSQL enforces what SQLite
does not), the rows are retried one by one, each in a SAVEPOINT, and those it
refuses for their data are set aside too. Set-aside fields are kept in
``rollup_rejected_rows`` (committed with the batch, so exactly once), logged,
and counted in ``alpine_rollup_rejected_rows_total``. A database outage
(connection lost, timeout, lock) is not a refusal: the batch stays in Redis
for the next run, as before.

Killed between 1 and 2: the processing key stays in ``metrics:processing``
and the next run (which always starts with that set) commits it. Killed
between 2 and 3: the next run finds the batch id recorded and just deletes
the key. A redelivered task is just another run. ``include_open`` rolls up the
current minute too (safe by the same argument; for operators and tests).

The rollup lag (seconds since the oldest minute still in Redis ended) is
computed at scrape time by the /metrics collector from the same index.
"""

from __future__ import annotations

import os
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from flask import current_app
from sqlalchemy import delete

from app.extensions import db, redis_store
from app.metrics import analytics, keys
from app.metrics.models import RollupBatch, RollupRejectedRow
from app.metrics.rollup_rows import parse
from app.metrics.rollup_sql import commit_batch

BATCH_RETENTION = timedelta(days=30)

# KEYS: minute hash, processing key, processing set, minute index; ARGV: minute.
_CLAIM = """
redis.call('ZREM', KEYS[4], ARGV[1])
if redis.call('EXISTS', KEYS[1]) == 1 then
    redis.call('RENAME', KEYS[1], KEYS[2])
    redis.call('SADD', KEYS[3], KEYS[2])
    return 1
end
return 0
"""

# KEYS: processing key, processing set, rejected counter; ARGV: rows set aside.
_FORGET = """
redis.call('DEL', KEYS[1])
if redis.call('SREM', KEYS[2], KEYS[1]) == 1 and tonumber(ARGV[1]) > 0 then
    redis.call('INCRBY', KEYS[3], ARGV[1])
end
return 1
"""


@dataclass
class RollupResult:
    batches: int = 0  # batches committed by this run
    already_done: int = 0  # batches found committed before (only deleted)
    requests: int = 0  # requests added to SQL by this run
    rows: int = 0  # request rows upserted
    deliveries: int = 0  # signals delivered added by this run
    rejected: int = 0  # counter fields set aside by this run's batches

    def as_dict(self) -> dict:
        return dict(self.__dict__)


def run_rollup(include_open: bool = False) -> RollupResult:
    """One rollup pass; safe to run at any time, concurrently, repeatedly."""
    client = redis_store.client
    result = RollupResult()
    # Orphans of a rollup that died after claiming come first.
    pkeys = [k.decode() if isinstance(k, bytes) else k for k in client.smembers(keys.PROCESSING_SET)]
    pkeys += _claim_closed_minutes(client, include_open)
    _pause("after_claim")
    for pkey in sorted(set(pkeys)):
        _process(client, pkey, result)
    cutoff = datetime.now(UTC) - BATCH_RETENTION
    db.session.execute(delete(RollupBatch).where(RollupBatch.rolled_at < cutoff))
    db.session.execute(delete(RollupRejectedRow).where(RollupRejectedRow.rejected_at < cutoff))
    db.session.commit()
    # Fresh admin analytics: the figures read these tables, so the next read recomputes.
    analytics.invalidate()
    return result


def _claim_closed_minutes(client, include_open: bool) -> list[str]:
    last: str | int
    if include_open:
        last = "+inf"
    else:
        grace = float(current_app.config["METRICS_ROLLUP_GRACE_SECONDS"])
        # minute m covers [60m, 60m+60); closed once now >= 60m + 60 + grace
        last = int((time.time() - grace - 60) // 60)
    claim = client.register_script(_CLAIM)
    claimed = []
    for raw in client.zrangebyscore(keys.MINUTE_INDEX, "-inf", last):
        minute = int(raw)
        pkey = keys.processing_key(minute, uuid.uuid4().hex)
        if claim(keys=[keys.minute_key(minute), pkey, keys.PROCESSING_SET, keys.MINUTE_INDEX], args=[minute]):
            claimed.append(pkey)
    return claimed


def _process(client, pkey: str, result: RollupResult) -> None:
    minute, batch_id = keys.parse_processing_key(pkey)
    raw = client.hgetall(pkey)
    rejected = 0
    if raw:
        parsed = parse(raw)
        committed = commit_batch(minute, batch_id, parsed)
        if committed is not None:
            requests, deliveries, rejected = committed
            result.batches += 1
            result.rows += len(requests)
            result.requests += sum(row["requests"] for row in requests)
            result.deliveries += sum(row["delivered"] for row in deliveries)
            result.rejected += rejected
        else:
            result.already_done += 1
            batch = db.session.get(RollupBatch, batch_id)
            rejected = batch.rejected if batch is not None else 0
            db.session.rollback()  # end the read transaction
    _pause("after_commit")
    client.register_script(_FORGET)(keys=[pkey, keys.PROCESSING_SET, keys.REJECTED_ROWS], args=[rejected])


def _pause(point: str) -> None:
    """Tests only: stop at a dangerous instant so a test can SIGKILL us there."""
    spec = current_app.config.get("METRICS_ROLLUP_PAUSE")
    if not spec or not current_app.testing:
        return
    name, _, seconds = spec.partition(":")
    if name == point:
        redis_store.client.set(f"{keys.PREFIX}paused:{point}", os.getpid())
        time.sleep(float(seconds or 30))


def rejected_rows_total(client) -> int:
    """Counter fields every rollup so far has set aside (kept in Redis for /metrics)."""
    return int(client.get(keys.REJECTED_ROWS) or 0)


def rollup_lag_seconds(client, now: float | None = None) -> float:
    """Seconds since the oldest minute still waiting in Redis ended (0 if none)."""
    now = time.time() if now is None else now
    minutes = [int(score) for _, score in client.zrange(keys.MINUTE_INDEX, 0, 0, withscores=True)]
    minutes += [keys.parse_processing_key(k.decode())[0] for k in client.smembers(keys.PROCESSING_SET)]
    if not minutes:
        return 0.0
    return max(0.0, now - (min(minutes) + 1) * 60)
