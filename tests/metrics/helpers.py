"""Shared helpers for the metrics tests: reading what landed in SQL and Redis."""

from __future__ import annotations

from sqlalchemy import func, select

from app.extensions import db
from app.metrics import keys
from app.metrics.models import RequestMetricMinute, SignalDeliveryDaily


def sql_requests(endpoint: str | None = None) -> int:
    query = select(func.coalesce(func.sum(RequestMetricMinute.requests), 0))
    if endpoint is not None:
        query = query.where(RequestMetricMinute.endpoint == endpoint)
    return int(db.session.execute(query).scalar_one())


def sql_delivered(user_id: int | None = None) -> int:
    query = select(func.coalesce(func.sum(SignalDeliveryDaily.delivered), 0))
    if user_id is not None:
        query = query.where(SignalDeliveryDaily.user_id == user_id)
    return int(db.session.execute(query).scalar_one())


def redis_requests(redis_client, endpoint: str | None = None) -> int:
    """Requests counted in Redis (minute hashes and processing keys) not yet in SQL."""
    total = 0
    names = [keys.minute_key(int(m)) for m in redis_client.zrange(keys.MINUTE_INDEX, 0, -1)]
    names += list(redis_client.smembers(keys.PROCESSING_SET))
    for name in names:
        for field, value in redis_client.hgetall(name).items():
            if field.startswith(keys.REQUESTS + keys.SEP):
                if endpoint is None or field.split(keys.SEP, 3)[3] == endpoint:
                    total += int(value)
    return total
