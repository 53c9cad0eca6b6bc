"""Per-tier daily feed quotas (the tier table in app/accounts/tiers.py), counted per user per UTC day.

The counter ``alpine:quota:<user id>:<YYYYMMDD>`` is incremented by the
per-request auth step (app/accounts/request_auth.py): one small script on the
request thread's own Redis connection, or inside the auth pipeline when that
runs anyway; when Redis is unreachable the in-process counters count instead. ``TIER_QUOTA_OVERRIDES`` (config) overrides app/accounts/tiers.py.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

from flask import current_app

from app.accounts.tiers import DEFAULT_TIER, TIERS

# Keep a day's counter a little past midnight (clock skew between processes).
KEY_TTL = 26 * 3600


def day_key(user_id: int, now: datetime | None = None) -> str:
    if now is None:
        return f"alpine:quota:{int(user_id)}:{_today()}"
    return f"alpine:quota:{int(user_id)}:{now:%Y%m%d}"


_day: tuple[int, str] = (-1, "")  # (UTC day number, its YYYYMMDD): formatted once a day


def _today() -> str:
    """Today's YYYYMMDD (UTC); every feed request asks, strftime is not free."""
    global _day
    number = int(time.time() // 86400)
    cached = _day
    if cached[0] != number:
        cached = _day = (number, f"{datetime.fromtimestamp(number * 86400, UTC):%Y%m%d}")
    return cached[1]


def limit_for(tier: str) -> int:
    overrides = current_app.config.get("TIER_QUOTA_OVERRIDES") or {}
    if tier in overrides:
        return int(overrides[tier])
    return TIERS.get(tier, TIERS[DEFAULT_TIER]).daily_quota


def seconds_until_utc_midnight(now: datetime | None = None) -> int:
    now = now or datetime.now(UTC)
    midnight = (now + timedelta(days=1)).replace(hour=0, minute=0, second=0, microsecond=0)
    return max(1, int((midnight - now).total_seconds() + 0.999))
