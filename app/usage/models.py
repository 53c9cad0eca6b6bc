"""Feed requests per user per UTC day, copied from the live quota counters."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import BigInteger, Date, Integer
from sqlalchemy.orm import Mapped, mapped_column

from app.core.sqlbase import UTCDateTime, utcnow
from app.extensions import Model


class FeedUsageDaily(Model):
    """The quota counter's value for (user, day): answered (2xx) feed requests.

    Written by the ``usage.snapshot`` beat task (app/usage/snapshot.py) with
    "the larger of the stored and the live value", so a rerun, or a Redis that
    restarted empty, never lowers a day already recorded.
    """

    __tablename__ = "feed_usage_daily"

    user_id: Mapped[int] = mapped_column(Integer, primary_key=True)  # not a FK: metrics outlive users
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    requests: Mapped[int] = mapped_column(BigInteger, default=0)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)
