"""Pushed signals count as delivered, in the same Redis counters the feed's
request hook writes (app/metrics/keys.py) and the rollup turns into
``signal_deliveries_daily``."""

from __future__ import annotations

import logging
import time

from redis.exceptions import RedisError

from app.extensions import redis_store
from app.metrics import keys

log = logging.getLogger(__name__)


def count_pushed(user_id: int, signals: int = 1) -> None:
    minute = int(time.time()) // 60
    try:
        pipe = redis_store.client.pipeline(transaction=True)
        pipe.hincrby(keys.minute_key(minute), keys.delivered_field(user_id), signals)
        pipe.zadd(keys.MINUTE_INDEX, {str(minute): minute})
        pipe.execute()
    except RedisError as exc:
        # The delivery itself succeeded; only the analytics count is lost.
        log.warning("webhooks: delivered-signal count not recorded (%s)", exc.__class__.__name__)
