"""Query and response schemas of /api/signals (the response schemas document;
the view writes JSON itself so the hot path does no marshmallow dumping)."""

from __future__ import annotations

import marshmallow as ma
from marshmallow import validate

from httpkit.schemas import SignalQuerySchema, SignalSchema

# Anything above a tier's max is clamped; absurd values are a client bug.
MAX_REQUESTABLE_LIMIT = 10_000


class LatestQuerySchema(SignalQuerySchema):
    """Query of Alpine's feed: Argo's filters, with tier-clamped limits."""

    limit = ma.fields.Integer(
        load_default=10,
        validate=validate.Range(min=1, max=MAX_REQUESTABLE_LIMIT),
        metadata={
            "description": "Clamped to the tier's max (starter 10, pro 50, "
            "elite 200); the response says the applied limit."
        },
    )
    premium_only = ma.fields.Boolean(
        load_default=False, metadata={"description": "Only confidence >= 95 (pro and elite)."}
    )


class FeedSchema(ma.Schema):
    signals = ma.fields.List(ma.fields.Nested(SignalSchema), required=True)
    count = ma.fields.Integer(required=True, metadata={"description": "== len(signals)"})
    limit = ma.fields.Integer(required=True, metadata={"description": "the applied (clamped) limit"})
    offset = ma.fields.Integer(required=True)
    tier = ma.fields.String(required=True)
    stale = ma.fields.Boolean(
        required=True,
        metadata={
            "description": "true: served from Alpine's local copy because Argo was unreachable "
            "(or, for a starter page deeper than the scan bound, from the copy by design)"
        },
    )
