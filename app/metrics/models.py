"""The analytics tables the rollup fills from the per-minute Redis counters.

``hour`` and ``day`` are stored on each minute row so dashboards bucket with a
plain GROUP BY that works the same on PostgreSQL and SQLite (no date_trunc /
strftime dialect split).
"""
from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import BigInteger, Date, Integer, SmallInteger, String
from sqlalchemy.orm import Mapped, mapped_column

from app.extensions import db
from app.core.sqlbase import UTCDateTime, utcnow


class RequestMetricMinute(db.Model):
    """Requests and latency per UTC minute, url rule, method and status class."""

    __tablename__ = "request_metrics_minute"

    minute: Mapped[datetime] = mapped_column(UTCDateTime(), primary_key=True)
    endpoint: Mapped[str] = mapped_column(String(255), primary_key=True)
    method: Mapped[str] = mapped_column(String(16), primary_key=True)
    status_class: Mapped[int] = mapped_column(SmallInteger, primary_key=True)  # 2 = 2xx, 5 = 5xx
    hour: Mapped[datetime] = mapped_column(UTCDateTime())  # series filter on minute (PK)
    day: Mapped[date] = mapped_column(Date, index=True)
    requests: Mapped[int] = mapped_column(BigInteger, default=0)
    latency_us: Mapped[int] = mapped_column(BigInteger, default=0)  # sum over the requests


class SignalDeliveryDaily(db.Model):
    """Signals returned to each subscriber per UTC day (user_id 0: no verified JWT)."""

    __tablename__ = "signal_deliveries_daily"

    day: Mapped[date] = mapped_column(Date, primary_key=True)
    user_id: Mapped[int] = mapped_column(Integer, primary_key=True)  # not a FK: metrics outlive users
    delivered: Mapped[int] = mapped_column(BigInteger, default=0)


class RollupBatch(db.Model):
    """One row per rolled-up Redis batch, committed with its increments: the exactly-once record."""

    __tablename__ = "rollup_batches"

    batch_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    minute: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    requests: Mapped[int] = mapped_column(BigInteger, default=0)
    rolled_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, index=True)
