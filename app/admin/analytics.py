"""GET /api/admin/analytics (admin guard: app/admin/__init__.py). Cached 300 s."""

from __future__ import annotations

from flask import current_app

from app.accounts.auth_views import BEARER
from app.admin import blp
from app.admin.metrics_schemas import AnalyticsSchema
from app.metrics import analytics


@blp.get("/analytics")
@blp.response(200, AnalyticsSchema)
@blp.alt_response(403, response="FORBIDDEN", description="forbidden: not an admin")
@blp.doc(security=BEARER)
def get_analytics():
    """Users, signals published/delivered, API requests and today's 5xx rate (UTC periods;
    "this week" starts Monday 00:00 UTC). Cached for 300 s."""
    return analytics.cached(current_app.config["ANALYTICS_CACHE_SECONDS"])
