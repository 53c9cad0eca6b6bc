"""marshmallow schemas: query validation and the OpenAPI description of Signal."""
from __future__ import annotations

import re

import marshmallow as ma
from marshmallow import validate

SYMBOL_RE = re.compile(r"^[A-Z0-9.\-/]{1,15}$")
MAX_LIMIT = 500
MAX_OFFSET = 1_000_000


class LatestQuerySchema(ma.Schema):
    """Query of GET /api/signals/latest. Unknown parameters are rejected (422)."""

    class Meta:
        unknown = ma.RAISE

    limit = ma.fields.Integer(load_default=10, strict=False,
                              validate=validate.Range(min=1, max=MAX_LIMIT))
    offset = ma.fields.Integer(load_default=0, validate=validate.Range(min=0, max=MAX_OFFSET))
    premium_only = ma.fields.Boolean(load_default=False)
    symbol = ma.fields.String(load_default=None)
    min_confidence = ma.fields.Float(load_default=None, allow_nan=False,
                                     validate=validate.Range(min=0, max=100))

    @ma.pre_load
    def _blank_means_absent(self, data, **kwargs):
        # "?symbol=&min_confidence=" (as in SPEC's URL template) means "no filter".
        return {k: v for k, v in data.items()
                if not (k in ("symbol", "min_confidence") and v == "")}

    @ma.validates("symbol")
    def _check_symbol(self, value, **kwargs):
        if value is not None and not SYMBOL_RE.match(value.upper()):
            raise ma.ValidationError("Must be 1 to 15 characters of A-Z, 0-9, '.', '-', '/'.")

    @ma.post_load
    def _normalise(self, data, **kwargs):
        if data.get("symbol"):
            data["symbol"] = data["symbol"].upper()
        return data


class SignalSchema(ma.Schema):
    """A served signal (documentation; the endpoint serves stored JSON text)."""

    symbol = ma.fields.String(required=True)
    action = ma.fields.String(required=True, validate=validate.OneOf(["BUY", "SELL"]))
    confidence = ma.fields.Float(required=True, metadata={"description": "0..100; >= 95 is premium"})
    price = ma.fields.Float(required=True, metadata={"description": "== entry_price"})
    entry_price = ma.fields.Float(required=True)
    stop_loss = ma.fields.Float(required=True)
    take_profit = ma.fields.Float(required=True)
    target_price = ma.fields.Float(required=True, metadata={"description": "== take_profit"})
    timestamp = ma.fields.String(required=True,
                                 metadata={"description": "ISO 8601 UTC, e.g. 2026-11-25T21:40:00Z"})
    strategy = ma.fields.String(required=True)
    sha256 = ma.fields.String(required=True, metadata={
        "description": "hex SHA-256 of json.dumps({action, confidence, entry_price, stop_loss, "
                       "strategy, symbol, take_profit, timestamp}, sort_keys=True, "
                       "separators=(',', ':'))"})


class StatusSchema(ma.Schema):
    status = ma.fields.String(required=True)
    database = ma.fields.String()
