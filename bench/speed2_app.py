"""Alpine for bench/speed2.py: the production app with quotas out of reach.

A starter's 1,000 requests a day would turn a 10 s wrk run into 429s; the
quota is still counted on every request (the same Redis INCR), only its
limits are raised (``TIER_QUOTA_OVERRIDES``).
"""

from __future__ import annotations

from flask import Flask


def create_app() -> Flask:
    from app import create_app as create_alpine

    unlimited = 10**12
    return create_alpine(
        {"TIER_QUOTA_OVERRIDES": {"starter": unlimited, "pro": unlimited, "elite": unlimited}}
    )
