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
2. Commit. For each processing key: HGETALL, then ONE SQL transaction that
   first INSERTs the batch id into ``rollup_batches`` (primary key), then
   upsert-increments the rows (INSERT .. ON CONFLICT DO UPDATE SET x = x +
   excluded.x, on PostgreSQL and SQLite). If the batch id is already there
   (a rollup committed it and died before step 3, or a concurrent rollup is
   committing it right now: PostgreSQL makes us wait on the unique index),
   the INSERT fails, nothing is added, and we only do step 3.
3. Forget. After the commit: DEL the processing key, SREM it from the set.

Killed between 1 and 2: the processing key stays in ``metrics:processing``
and the next run (which always starts with that set) commits it. Killed
between 2 and 3: the next run finds the batch id recorded and just deletes
the key. A redelivered task is just another run. ``include_open`` rolls up the
current minute too (safe by the same argument; for operators and tests).

The rollup lag (seconds since the oldest minute still in Redis ended) is
computed at scrape time by the /metrics collector from the same index.
"""
from __future__ import annotations

import logging
import os
import time
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from flask import current_app
from sqlalchemy import delete, text
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import IntegrityError

from app.extensions import db, redis_store
from app.metrics import keys
from app.metrics.models import RequestMetricMinute, RollupBatch, SignalDeliveryDaily

log = logging.getLogger(__name__)

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


@dataclass
class RollupResult:
    batches: int = 0          # batches committed by this run
    already_done: int = 0     # batches found committed before (only deleted)
    requests: int = 0         # requests added to SQL by this run
    rows: int = 0             # request rows upserted
    deliveries: int = 0       # signals delivered added by this run

    def as_dict(self) -> dict:
        return dict(self.__dict__)


def minute_start(minute: int) -> datetime:
    return datetime.fromtimestamp(minute * 60, tz=timezone.utc)


def run_rollup(include_open: bool = False) -> RollupResult:
    """One rollup pass; safe to run at any time, concurrently, repeatedly."""
    client = redis_store.client
    result = RollupResult()
    # Orphans of a rollup that died after claiming come first.
    pkeys = [k.decode() for k in client.smembers(keys.PROCESSING_SET)]
    pkeys += _claim_closed_minutes(client, include_open)
    _pause("after_claim")
    for pkey in sorted(set(pkeys)):
        _process(client, pkey, result)
    db.session.execute(delete(RollupBatch).where(
        RollupBatch.rolled_at < datetime.now(timezone.utc) - BATCH_RETENTION))
    db.session.commit()
    return result


def _claim_closed_minutes(client, include_open: bool) -> list[str]:
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
        if claim(keys=[keys.minute_key(minute), pkey, keys.PROCESSING_SET, keys.MINUTE_INDEX],
                 args=[minute]):
            claimed.append(pkey)
    return claimed


def _parse(raw: dict) -> tuple[dict, dict]:
    requests: dict[tuple, list[int]] = {}
    deliveries: dict[int, int] = {}
    for field, value in raw.items():
        try:
            field, value = field.decode(), int(value)
            if field.startswith(keys.DELIVERED + keys.SEP):
                uid = int(field.split(keys.SEP, 1)[1])
                deliveries[uid] = deliveries.get(uid, 0) + value
                continue
            kind, method, status_class, rule = field.split(keys.SEP, 3)
            entry = requests.setdefault((rule, method, int(status_class)), [0, 0])
            entry[0 if kind == keys.REQUESTS else 1] += value
        except (ValueError, UnicodeDecodeError):
            # Not ours: skip it rather than let one bad field block the minute forever.
            log.warning("rollup: skipping malformed counter field %r", field)
    return requests, deliveries


def _process(client, pkey: str, result: RollupResult) -> None:
    minute, batch_id = keys.parse_processing_key(pkey)
    raw = client.hgetall(pkey)
    if raw:
        requests, deliveries = _parse(raw)
        if _commit(minute, batch_id, requests, deliveries):
            result.batches += 1
            result.rows += len(requests)
            result.requests += sum(v[0] for v in requests.values())
            result.deliveries += sum(deliveries.values())
        else:
            result.already_done += 1
    _pause("after_commit")
    pipe = client.pipeline(transaction=True)
    pipe.delete(pkey)
    pipe.srem(keys.PROCESSING_SET, pkey)
    pipe.execute()


def _commit(minute: int, batch_id: str, requests: dict, deliveries: dict) -> bool:
    """One transaction: record the batch, add its rows. False if it was recorded before."""
    start = minute_start(minute)
    session = db.session
    try:
        session.add(RollupBatch(batch_id=batch_id, minute=start,
                                requests=sum(v[0] for v in requests.values())))
        session.flush()
    except IntegrityError:
        session.rollback()
        log.info("rollup: batch %s (minute %s) was already committed; deleting its key",
                 batch_id, start.isoformat())
        return False
    try:
        hour = start.replace(minute=0)
        day = start.date()
        _upsert(RequestMetricMinute, ["minute", "endpoint", "method", "status_class"],
                ["requests", "latency_us"],
                [{"minute": start, "endpoint": rule[:255], "method": method,
                  "status_class": sc, "hour": hour, "day": day,
                  "requests": v[0], "latency_us": v[1]}
                 for (rule, method, sc), v in requests.items()])
        _upsert(SignalDeliveryDaily, ["day", "user_id"], ["delivered"],
                [{"day": day, "user_id": uid, "delivered": n} for uid, n in deliveries.items()])
        session.commit()
    except BaseException:
        session.rollback()
        raise
    return True


def _upsert(model, key_columns: list[str], add_columns: list[str], rows: list[dict]) -> None:
    """INSERT .. ON CONFLICT DO UPDATE SET x = x + excluded.x, for many rows at once."""
    if not rows:
        return
    conn = db.session.connection()
    table = model.__table__
    if conn.dialect.name == "postgresql":
        # One statement whatever the row count: each column travels as one
        # array and unnest() turns them back into rows. (A driver executemany
        # is a round trip per row; a 10,000-row VALUES list costs SQLAlchemy
        # seconds to compile.)
        columns = list(rows[0])
        casts = ", ".join(f"CAST(:{c} AS {table.c[c].type.compile(conn.dialect)}[])" for c in columns)
        names = ", ".join(columns)
        updates = ", ".join(f"{c} = {table.name}.{c} + excluded.{c}" for c in add_columns)
        sql = text(f"INSERT INTO {table.name} ({names}) SELECT * FROM unnest({casts}) "
                   f"ON CONFLICT ({', '.join(key_columns)}) DO UPDATE SET {updates}")
        conn.execute(sql, {c: [row[c] for row in rows] for c in columns})
        return
    # SQLite: executemany runs in-process, without round trips.
    stmt = sqlite_insert(table)
    stmt = stmt.on_conflict_do_update(
        index_elements=key_columns, set_={c: table.c[c] + stmt.excluded[c] for c in add_columns})
    conn.execute(stmt, rows)


def _pause(point: str) -> None:
    """Tests only: stop at a dangerous instant so a test can SIGKILL us there."""
    spec = current_app.config.get("METRICS_ROLLUP_PAUSE")
    if not spec or not current_app.testing:
        return
    name, _, seconds = spec.partition(":")
    if name == point:
        redis_store.client.set(f"{keys.PREFIX}paused:{point}", os.getpid())
        time.sleep(float(seconds or 30))


def rollup_lag_seconds(client, now: float | None = None) -> float:
    """Seconds since the oldest minute still waiting in Redis ended (0 if none)."""
    now = time.time() if now is None else now
    minutes = [int(score) for _, score in client.zrange(keys.MINUTE_INDEX, 0, 0, withscores=True)]
    minutes += [keys.parse_processing_key(k.decode())[0]
                for k in client.smembers(keys.PROCESSING_SET)]
    if not minutes:
        return 0.0
    return max(0.0, now - (min(minutes) + 1) * 60)
