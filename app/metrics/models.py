"""The analytics tables the rollup fills from the per-minute Redis counters.

``hour`` and ``day`` are stored on each minute row so dashboards bucket with a
plain GROUP BY that works the same on PostgreSQL and SQLite (no date_trunc /
strftime dialect split).
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import BigInteger, Date, Integer, SmallInteger, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from app.core.sqlbase import UTCDateTime, utcnow
from app.extensions import Model


class RequestMetricMinute(Model):
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


class SignalDeliveryDaily(Model):
    """Signals returned to each subscriber per UTC day (user_id 0: no verified JWT)."""

    __tablename__ = "signal_deliveries_daily"

    day: Mapped[date] = mapped_column(Date, primary_key=True)
    user_id: Mapped[int] = mapped_column(Integer, primary_key=True)  # not a FK: metrics outlive users
    delivered: Mapped[int] = mapped_column(BigInteger, default=0)


class RollupBatch(Model):
    """One row per rolled-up Redis batch, committed with its increments: the exactly-once record."""

    __tablename__ = "rollup_batches"

    batch_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    minute: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    requests: Mapped[int] = mapped_column(BigInteger, default=0)
    # Counter fields of the batch set aside (see RollupRejectedRow), so a rollup
    # that finds the batch already committed still knows how many to report.
    rejected: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    rolled_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, index=True)


class RollupRejectedRow(Model):
    """A counter field the rollup set aside instead of letting it block its minute.

    Malformed (not a field our request hook writes, or a value out of range) or
    refused by the database. Committed with its batch, so it is recorded exactly
    once; the field and value are stored escaped (no NUL, valid UTF-8) and cut
    to ``RollupRejectedRow.MAX_TEXT`` characters. ``flask --app wsgi metrics
    rejected`` lists them; they are pruned with the batches after 30 days.
    """

    __tablename__ = "rollup_rejected_rows"
    MAX_TEXT = 1000

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    batch_id: Mapped[str] = mapped_column(String(64), index=True)
    minute: Mapped[datetime] = mapped_column(UTCDateTime())
    field: Mapped[str] = mapped_column(Text)
    value: Mapped[str] = mapped_column(Text)
    reason: Mapped[str] = mapped_column(String(255))
    rejected_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, index=True)
