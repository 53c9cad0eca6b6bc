"""Copy the per-user daily quota counters (Redis) into ``feed_usage_daily`` (SQL).

The counters (``alpine:quota:<user>:<YYYYMMDD>``, app/feed/quotas.py) live 26 h,
so a run every 10 minutes sees each day's final value at least once after its
midnight. Users are read in id order, 1,000 at a time, and their counters
fetched with one MGET per batch (no KEYS/SCAN). The stored value only ever
grows (greatest of stored and live): reruns and an emptied Redis are harmless.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from sqlalchemy import Table, func, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from app.accounts.models import User
from app.core import redis_guard
from app.core.sqlbase import utcnow
from app.extensions import db
from app.feed import quotas
from app.usage.models import FeedUsageDaily

BATCH = 1000


def _days(now: datetime) -> list[tuple[date, datetime]]:
    return [((now - timedelta(days=n)).date(), now - timedelta(days=n)) for n in (0, 1)]


def snapshot(now: datetime | None = None) -> int:
    """Returns how many (user, day) values were written. Raises if Redis is unreachable
    (the next beat tick tries again)."""
    now = now or datetime.now(UTC)
    client = redis_guard.client()
    written, last_id = 0, 0
    while True:
        ids = (
            db.session.execute(select(User.id).where(User.id > last_id).order_by(User.id).limit(BATCH))
            .scalars()
            .all()
        )
        if not ids:
            return written
        last_id = ids[-1]
        rows = []
        for day, moment in _days(now):
            values = client.mget([quotas.day_key(uid, moment) for uid in ids])
            rows += [
                {"user_id": uid, "day": day, "requests": int(v), "updated_at": utcnow()}
                for uid, v in zip(ids, values, strict=True)
                if v is not None and int(v) > 0
            ]
        _upsert_greatest(rows)
        db.session.commit()
        written += len(rows)


def _upsert_greatest(rows: list[dict]) -> None:
    if not rows:
        return
    table = FeedUsageDaily.__table__
    assert isinstance(table, Table)
    dialect = db.session.connection().dialect.name
    stmt = (pg_insert if dialect == "postgresql" else sqlite_insert)(table)
    greatest = func.greatest if dialect == "postgresql" else func.max  # SQLite's scalar max(a, b)
    stmt = stmt.on_conflict_do_update(
        index_elements=["user_id", "day"],
        set_={
            "requests": greatest(table.c.requests, stmt.excluded.requests),
            "updated_at": stmt.excluded.updated_at,
        },
    )
    db.session.execute(stmt, rows)
