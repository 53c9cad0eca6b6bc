"""The subscriber feed: fresh from Argo when it answers, else Alpine's local copy.

Tier rules (``app/accounts/tiers.py``) are applied here, identically on both paths.

Pro / elite (premium allowed): one Argo call with the caller's ``limit``,
``offset``, ``premium_only`` and ``symbol``. Offsets map 1:1 onto Argo's
stream, so pages never overlap; a signal that fails verification is dropped
and leaves a hole (``count`` < ``limit``) rather than pulling a signal from
the next page into this one.

Starter (premium withheld): Argo filters by ``min_confidence`` but has no
upper bound, so asking Argo for ``limit`` signals and dropping the premium
ones (~11% of the demo market) would return fewer than ``limit``. Instead the
starter's stream -- verified signals with confidence < 95, newest first -- is
*scanned* from Argo's offset 0: the first page asks for ``need = offset +
limit`` plus 25% headroom (one call almost always suffices for the first
pages), further pages ask for what is still missing plus headroom, until
``need`` non-premium signals are collected or Argo runs out. The scan is
bounded by ``SIGNAL_SCAN_MAX`` raw signals (default 2,000, i.e. at most a few
Argo calls); a starter page deeper than that (``offset + limit`` beyond what
the bound can reach) is answered from the local copy with the same SQL filter
(``confidence < 95``) and ``stale: true`` -- the copy is at most one sync
interval (30 s) behind, and deep pages are old signals anyway.

Both paths upsert what they fetched (verified only) into the local copy.
When Argo is unreachable, slow, answering 5xx or the breaker is open, the
feed answers from the local copy with ``stale: true``; it raises 503
``upstream_unavailable`` only when the local copy has no signal at all.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass

from flask import current_app
from sqlalchemy.exc import SQLAlchemyError

from app.accounts.tiers import PREMIUM_CONFIDENCE, Tier
from app.extensions import db
from app.feed import local_signals, signal_ingest
from app.feed.argo_client import ArgoUnavailable, argo_client
from app.feed.feed_metrics import FEED_STALE_RESPONSES
from httpkit.errors import APIError

log = logging.getLogger(__name__)

ARGO_MAX_LIMIT = 500  # Argo's own bound on `limit`
HEADROOM = 1.25


@dataclass
class FeedPage:
    signals: list[dict]
    stale: bool


class _TooDeep(Exception):
    """The starter scan would exceed SIGNAL_SCAN_MAX raw signals."""


def latest_for_tier(
    tier: Tier, *, limit: int, offset: int, premium_only: bool, symbol: str | None
) -> FeedPage:
    """``limit`` is already clamped to the tier; ``premium_only`` already allowed."""
    try:
        if tier.premium:
            signals = _fresh(limit, offset, premium_only, symbol)
        else:
            signals = _fresh_without_premium(limit, offset, symbol)
        return FeedPage(signals, stale=False)
    except (ArgoUnavailable, _TooDeep) as exc:
        log.info("feed served from the local copy: %s", exc)
    signals = local_signals.latest(
        limit=limit, offset=offset, premium_only=premium_only, symbol=symbol, include_premium=tier.premium
    )
    if not signals and local_signals.is_empty():
        raise APIError(
            503,
            "upstream_unavailable",
            "The signal service is unavailable and no signals have been synced yet.",
        )
    FEED_STALE_RESPONSES.inc()
    return FeedPage(signals, stale=True)


def _fetch_verified(**params) -> tuple[list[dict], int]:
    """One Argo call -> (verified signals, raw count); the verified ones are stored."""
    raw = argo_client.latest(**params)
    verified = signal_ingest.accept_many(raw, "feed", use_recent=True)
    _store(verified)
    return verified, len(raw)


def _store(signals: list[dict]) -> None:
    # The local copy is a by-product of serving: never fail the request over it.
    try:
        signal_ingest.store_new(signals)
    except SQLAlchemyError as exc:
        db.session.rollback()
        log.warning("could not store fetched signals: %s", exc.__class__.__name__)


def _fresh(limit: int, offset: int, premium_only: bool, symbol: str | None) -> list[dict]:
    verified, _ = _fetch_verified(limit=limit, offset=offset, premium_only=premium_only, symbol=symbol)
    return verified[:limit]


def _fresh_without_premium(limit: int, offset: int, symbol: str | None) -> list[dict]:
    scan_max = int(current_app.config.get("SIGNAL_SCAN_MAX", 2000))
    need = offset + limit
    if need > scan_max:
        raise _TooDeep(f"starter page ends at {need} > SIGNAL_SCAN_MAX {scan_max}")
    collected: dict[str, dict] = {}  # sha256 -> signal, in stream order (dedupes page shifts)
    raw_offset = 0
    page = min(ARGO_MAX_LIMIT, scan_max, math.ceil(need * HEADROOM) + 5)
    while True:
        verified, got = _fetch_verified(limit=page, offset=raw_offset, symbol=symbol)
        for s in verified:
            if s["confidence"] < PREMIUM_CONFIDENCE:
                collected.setdefault(s["sha256"], s)
        raw_offset += got
        if len(collected) >= need or got < page:
            break  # enough, or Argo has no more
        if raw_offset >= scan_max:
            raise _TooDeep(f"scanned {raw_offset} signals for {need} non-premium ones")
        missing = need - len(collected)
        page = min(ARGO_MAX_LIMIT, scan_max - raw_offset, math.ceil(missing * HEADROOM * 1.2) + 10)
    return list(collected.values())[offset:need]
