"""Query and response schemas of /api/signals (the response schemas document;
the view writes JSON itself so the hot path does no marshmallow dumping)."""
from __future__ import annotations

import re

import marshmallow as ma
from marshmallow import validate

SYMBOL_RE = re.compile(r"^[A-Z0-9.\-/]{1,15}$")
# Anything above a tier's max is clamped; absurd values are a client bug.
MAX_REQUESTABLE_LIMIT = 10_000
MAX_OFFSET = 1_000_000  # Argo's own bound


class LatestQuerySchema(ma.Schema):
    class Meta:
        unknown = ma.RAISE

    limit = ma.fields.Integer(load_default=10, validate=validate.Range(min=1, max=MAX_REQUESTABLE_LIMIT),
                              metadata={"description": "Clamped to the tier's max (starter 10, pro 50, "
                                                       "elite 200); the response says the applied limit."})
    offset = ma.fields.Integer(load_default=0, validate=validate.Range(min=0, max=MAX_OFFSET))
    premium_only = ma.fields.Boolean(load_default=False,
                                     metadata={"description": "Only confidence >= 95 (pro and elite)."})
    symbol = ma.fields.String(load_default=None, metadata={"description": "e.g. AAPL (case-insensitive)"})

    @ma.pre_load
    def _blank_symbol_means_absent(self, data, **kwargs):
        # "?symbol=" (as in SPEC's URL template) means "no filter".
        return {k: v for k, v in data.items() if not (k == "symbol" and v == "")}

    @ma.validates("symbol")
    def _check_symbol(self, value, **kwargs):
        if value is not None and not SYMBOL_RE.match(value.upper()):
            raise ma.ValidationError("Must be 1 to 15 characters of A-Z, 0-9, '.', '-', '/'.")

    @ma.post_load
    def _upper_symbol(self, data, **kwargs):
        if data.get("symbol"):
            data["symbol"] = data["symbol"].upper()
        return data


class SignalSchema(ma.Schema):
    symbol = ma.fields.String(required=True)
    action = ma.fields.String(required=True, validate=validate.OneOf(["BUY", "SELL"]))
    confidence = ma.fields.Float(required=True, metadata={"description": "0..100; >= 95 is premium"})
    price = ma.fields.Float(required=True)
    entry_price = ma.fields.Float(required=True)
    stop_loss = ma.fields.Float(required=True)
    take_profit = ma.fields.Float(required=True)
    target_price = ma.fields.Float(required=True)
    timestamp = ma.fields.String(required=True, metadata={"description": "ISO 8601 UTC"})
    strategy = ma.fields.String(required=True)
    sha256 = ma.fields.String(required=True, metadata={"description": "verified by Alpine on ingest"})


class FeedSchema(ma.Schema):
    signals = ma.fields.List(ma.fields.Nested(SignalSchema), required=True)
    count = ma.fields.Integer(required=True, metadata={"description": "== len(signals)"})
    limit = ma.fields.Integer(required=True, metadata={"description": "the applied (clamped) limit"})
    offset = ma.fields.Integer(required=True)
    tier = ma.fields.String(required=True)
    stale = ma.fields.Boolean(required=True, metadata={
        "description": "true: served from Alpine's local copy because Argo was unreachable "
                       "(or, for a starter page deeper than the scan bound, from the copy by design)"})
