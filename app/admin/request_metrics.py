"""GET /api/admin/metrics/requests: the rolled-up request counters as a time series."""

from __future__ import annotations

import marshmallow as ma

from app.accounts.auth_views import BEARER
from app.admin import blp
from app.admin.metrics_schemas import RequestSeriesQuerySchema, RequestSeriesSchema
from app.metrics import analytics


@blp.get("/metrics/requests")
@blp.arguments(RequestSeriesQuerySchema, location="query", unknown=ma.RAISE)  # typos are 422
@blp.response(200, RequestSeriesSchema)
@blp.alt_response(403, response="FORBIDDEN", description="forbidden: not an admin")
@blp.doc(security=BEARER)
def get_request_series(args):
    """Requests, 5xx errors and mean latency per hour or day (UTC), zero buckets included.
    Not cached; at most 31 days by hour, 400 days by day."""
    granularity, endpoint = args["granularity"], args.get("endpoint")
    return {
        "granularity": granularity,
        "from_": args["start"].isoformat(),
        "to": args["end"].isoformat(),
        "endpoint": endpoint,
        "points": analytics.request_series(args["start"], args["end"], granularity, endpoint),
    }
