"""Step 2 of the rollup (app/metrics/rollup.py): one claimed batch into SQL, exactly once.

ONE transaction first INSERTs the batch id into ``rollup_batches`` (primary
key), then upsert-increments the rows (INSERT .. ON CONFLICT DO UPDATE SET
x = x + excluded.x, on PostgreSQL and SQLite). A batch id already there
means the batch was committed before (or is being committed right now by a
concurrent rollup: PostgreSQL makes us wait on the unique index): nothing is
added.

No row can block a minute: if the database refuses the batch's upsert
(PostgreSQL enforces what SQLite does not), the rows are retried one by one,
each in a SAVEPOINT, and those it refuses for their data are set aside in
``rollup_rejected_rows`` (committed with the batch, so exactly once) and
logged. A database outage (connection lost, timeout, lock) is not a refusal:
it propagates, and the batch stays in Redis for the next run.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime

from sqlalchemy import text
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import DataError, DBAPIError, IntegrityError, OperationalError

from app.extensions import db
from app.metrics import keys
from app.metrics.models import RequestMetricMinute, RollupBatch, RollupRejectedRow, SignalDeliveryDaily
from app.metrics.rollup_rows import (
    ParsedBatch,
    Rejected,
    printable,
    request_field_text,
    request_value_text,
)

log = logging.getLogger(__name__)

# Set-aside fields kept in SQL per batch (all are counted): a hostile hash of a
# million fields must not become a million rows.
MAX_KEPT_PER_BATCH = 100
# What a database raises for a batch it refuses because of what is in it
# (ValueError: psycopg2 refuses NUL in text; OverflowError: sqlite3 refuses
# integers past 64 bits). OperationalError (outage, timeout, lock) is not one.
_BATCH_REFUSALS = (DBAPIError, ValueError, OverflowError)
# ... and what it raises for one row whose data it refuses. Anything else in a
# single-row upsert (a missing table, a syntax error) is our bug: let it fail.
_ROW_REFUSALS = (DataError, IntegrityError, ValueError, OverflowError)


def minute_start(minute: int) -> datetime:
    return datetime.fromtimestamp(minute * 60, tz=UTC)


def commit_batch(minute: int, batch_id: str, parsed: ParsedBatch):
    """One transaction: record the batch, add its rows, keep what was set aside.

    Returns (request rows, delivery rows, fields set aside) as committed, or
    None if the batch was recorded before.
    """
    start = minute_start(minute)
    session = db.session
    batch = RollupBatch(batch_id=batch_id, minute=start, requests=0)
    try:
        session.add(batch)
        session.flush()
    except IntegrityError:
        session.rollback()
        log.info(
            "rollup: batch %s (minute %s) was already committed; deleting its key",
            batch_id,
            start.isoformat(),
        )
        return None
    try:
        rejected = list(parsed.rejected)
        hour, day = start.replace(minute=0), start.date()
        requests = [
            {
                "minute": start,
                "endpoint": rule,
                "method": method,
                "status_class": sc,
                "hour": hour,
                "day": day,
                "requests": v[0],
                "latency_us": v[1],
            }
            for (rule, method, sc), v in parsed.requests.items()
        ]
        deliveries = [{"day": day, "user_id": uid, "delivered": n} for uid, n in parsed.deliveries.items()]
        requests, deliveries = _add_rows(batch_id, requests, deliveries, rejected)
        batch.requests = sum(row["requests"] for row in requests)
        batch.rejected = len(rejected)
        if rejected:
            _set_aside(batch_id, start, rejected)
        session.commit()
    except BaseException:
        session.rollback()
        raise
    return requests, deliveries, len(rejected)


def _add_rows(
    batch_id: str, requests: list[dict], deliveries: list[dict], rejected: list[Rejected]
) -> tuple[list[dict], list[dict]]:
    """Upsert all rows at once; if the database refuses that, row by row. Returns what landed."""
    try:
        with db.session.begin_nested():
            _upsert_requests(requests)
            _upsert_deliveries(deliveries)
        return requests, deliveries
    except _BATCH_REFUSALS as exc:
        if _is_outage(exc):
            raise
        log.warning(
            "rollup: the database refused batch %s (%s); retrying its %d row(s) one by one",
            batch_id,
            exc.__class__.__name__,
            len(requests) + len(deliveries),
        )
    landed_requests = _one_by_one(
        _upsert_requests,
        requests,
        rejected,
        lambda r: (
            request_field_text((r["endpoint"], r["method"], r["status_class"])),
            request_value_text((r["requests"], r["latency_us"])),
        ),
    )
    landed_deliveries = _one_by_one(
        _upsert_deliveries,
        deliveries,
        rejected,
        lambda r: (keys.delivered_field(r["user_id"]), str(r["delivered"])),
    )
    return landed_requests, landed_deliveries


def _one_by_one(upsert, rows: list[dict], rejected: list[Rejected], describe) -> list[dict]:
    landed = []
    for row in rows:
        try:
            with db.session.begin_nested():
                upsert([row])
            landed.append(row)
        except _ROW_REFUSALS as exc:
            if _is_outage(exc):
                raise
            field, value = describe(row)
            rejected.append(Rejected(field, value, f"refused by the database: {exc.__class__.__name__}"))
    return landed


def _is_outage(exc: BaseException) -> bool:
    return isinstance(exc, OperationalError) or (isinstance(exc, DBAPIError) and exc.connection_invalidated)


def _upsert_requests(rows: list[dict]) -> None:
    _upsert(
        RequestMetricMinute,
        ["minute", "endpoint", "method", "status_class"],
        ["requests", "latency_us"],
        rows,
    )


def _upsert_deliveries(rows: list[dict]) -> None:
    _upsert(SignalDeliveryDaily, ["day", "user_id"], ["delivered"], rows)


def _set_aside(batch_id: str, start: datetime, rejected: list[Rejected]) -> None:
    """Keep (the first MAX_KEPT_PER_BATCH of) the batch's set-aside fields, and say so."""
    db.session.add_all(
        RollupRejectedRow(
            batch_id=batch_id,
            minute=start,
            field=printable(r.field),
            value=printable(r.value),
            reason=r.reason[:255],
        )
        for r in rejected[:MAX_KEPT_PER_BATCH]
    )
    sample = "; ".join(f"{r.field[:80]!r}: {r.reason}" for r in rejected[:3])
    log.warning(
        "rollup: set aside %d counter field(s) of minute %s (batch %s), kept in rollup_rejected_rows: %s%s",
        len(rejected),
        start.isoformat(),
        batch_id,
        sample,
        "; ..." if len(rejected) > 3 else "",
    )


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
        sql = text(
            f"INSERT INTO {table.name} ({names}) SELECT * FROM unnest({casts}) "
            f"ON CONFLICT ({', '.join(key_columns)}) DO UPDATE SET {updates}"
        )
        conn.execute(sql, {c: [row[c] for row in rows] for c in columns})
        return
    # SQLite: executemany runs in-process, without round trips.
    stmt = sqlite_insert(table)
    stmt = stmt.on_conflict_do_update(
        index_elements=key_columns, set_={c: table.c[c] + stmt.excluded[c] for c in add_columns}
    )
    conn.execute(stmt, rows)
