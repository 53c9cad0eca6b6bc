"""GET /api/signals/latest: the subscriber feed (see app/feed/signal_feed.py)."""

from __future__ import annotations

import marshmallow as ma
from flask import Response, g, jsonify
from flask_jwt_extended import current_user

from app.accounts.tiers import DEFAULT_TIER, TIERS
from app.feed import window_poller
from app.feed.quota_hooks import quota_headers, quota_hook
from app.feed.schemas import FeedSchema, LatestQuerySchema
from app.feed.signal_feed import latest_for_tier
from app.feed.window import render
from app.keys import KEY_OR_BEARER
from httpkit.doc_only import doc_only
from httpkit.errors import APIError, Blueprint
from httpkit.parsing import QueryArgs

blp = Blueprint("signals", __name__, url_prefix="/api/signals", description="Signals")
# Per-tier daily quotas apply to every feed request (and only to those).
blp.before_request(quota_hook)
blp.after_request(quota_headers)
blp.record_once(window_poller.on_register)

LATEST_QUERY = LatestQuerySchema()
# The feed is asked the same few query strings: each is validated once, then
# looked up. webargs defaults query strings to EXCLUDE; unknown parameters are a 422 here.
latest_query = QueryArgs(LATEST_QUERY, parser=blp.ARGUMENTS_PARSER, unknown=ma.RAISE)


@blp.route("/latest")
# Documented by flask-smorest's decorators, none of which runs per request
# (httpkit/doc_only.py): the view parses its query through the memo and
# returns a ready Response, so their wrappers were a fifth of its CPU for nothing.
@doc_only(
    blp.doc(security=KEY_OR_BEARER),  # a login or an API key (signals:read)
    blp.arguments(LATEST_QUERY, location="query", as_kwargs=True, unknown=ma.RAISE),
    blp.response(200, FeedSchema),
    blp.alt_response(403, description="premium_only=true on the starter tier (tier_required)"),
    blp.alt_response(503, description="Argo unreachable and no signal synced yet (upstream_unavailable)"),
)
# No @jwt_required() here: the blueprint's quota_hook has already verified the
# token for every request that reaches this view (a second verification was
# a tenth of the feed's CPU).
def latest():
    """Newest signals first, by tier.

    starter: never a signal with confidence >= 95; premium_only -> 403
    tier_required. `limit` above the tier's max is clamped. `stale: true` when
    Argo is unreachable and the answer comes from Alpine's synced copy.
    A page inside the newest FEED_WINDOW signals is served from memory.
    """
    return _latest(**latest_query())


def _latest(limit: int, offset: int, premium_only: bool, symbol: str | None) -> Response:
    tier = TIERS.get(current_user.tier) or TIERS[DEFAULT_TIER]
    if premium_only and not tier.premium:
        raise APIError(
            403,
            "tier_required",
            "Premium signals need the pro or elite tier.",
            {"tier": tier.name, "required": [t.name for t in TIERS.values() if t.premium]},
        )
    applied = min(limit, tier.max_limit)
    window = window_poller.current_window()
    if window is not None:
        entries = window.page(
            limit=applied,
            offset=offset,
            include_premium=tier.premium,
            premium_only=premium_only,
            symbol=symbol,
        )
        if entries is not None:
            g.signals_delivered = len(entries)
            body = render(entries, limit=applied, offset=offset, tier=tier.name)
            return Response(body, mimetype="application/json")
    # Deeper than the window, or the window is not confirmed by Argo right now.
    page = latest_for_tier(tier, limit=applied, offset=offset, premium_only=premium_only, symbol=symbol)
    g.signals_delivered = len(page.signals)
    return jsonify(
        {
            "signals": page.signals,
            "count": len(page.signals),
            "limit": applied,
            "offset": offset,
            "tier": tier.name,
            "stale": page.stale,
        }
    )
