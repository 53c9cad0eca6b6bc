"""Subscription tiers: the tier table, in one place, used by the feed and quotas."""

from __future__ import annotations

from dataclasses import dataclass

PREMIUM_CONFIDENCE = 95  # a signal with confidence >= this is premium


@dataclass(frozen=True)
class Tier:
    name: str
    max_limit: int
    premium: bool
    daily_quota: int


TIERS = {
    "starter": Tier("starter", max_limit=10, premium=False, daily_quota=1_000),
    "pro": Tier("pro", max_limit=50, premium=True, daily_quota=10_000),
    "elite": Tier("elite", max_limit=200, premium=True, daily_quota=100_000),
}
TIER_NAMES = tuple(TIERS)
DEFAULT_TIER = "starter"
