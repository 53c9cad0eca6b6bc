"""Per-tier daily feed quotas (the tier table in app/accounts/tiers.py), counted per user per UTC day.

The counter ``alpine:quota:<user id>:<YYYYMMDD>`` is incremented inside the
per-request auth pipeline (app/accounts/request_auth.py), so counting costs no
extra Redis round trip; when Redis is unreachable the in-process counters
count instead. ``TIER_QUOTA_OVERRIDES`` (config) overrides app/accounts/tiers.py.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from flask import current_app

from app.accounts.tiers import DEFAULT_TIER, TIERS

# Keep a day's counter a little past midnight (clock skew between processes).
KEY_TTL = 26 * 3600


def day_key(user_id: int, now: datetime | None = None) -> str:
    now = now or datetime.now(UTC)
    return f"alpine:quota:{int(user_id)}:{now:%Y%m%d}"


def limit_for(tier: str) -> int:
    overrides = current_app.config.get("TIER_QUOTA_OVERRIDES") or {}
    if tier in overrides:
        return int(overrides[tier])
    return TIERS.get(tier, TIERS[DEFAULT_TIER]).daily_quota


def seconds_until_utc_midnight(now: datetime | None = None) -> int:
    now = now or datetime.now(UTC)
    midnight = (now + timedelta(days=1)).replace(hour=0, minute=0, second=0, microsecond=0)
    return max(1, int((midnight - now).total_seconds() + 0.999))
