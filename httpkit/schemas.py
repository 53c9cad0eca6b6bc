"""Schemas both services share: the signal-list query and the Signal document.

Argo serves signals and Alpine's feed re-serves them, so the query rules and the
OpenAPI description of a Signal are one definition, not two copies.
"""

from __future__ import annotations

import re
from typing import Any

import marshmallow as ma
from marshmallow import validate

SYMBOL_RE = re.compile(r"^[A-Z0-9.\-/]{1,15}$")
MAX_OFFSET = 1_000_000


class SignalQuerySchema(ma.Schema):
    """What every signal-list query shares (Argo's and Alpine's feed).

    Unknown parameters are rejected (422); a blank value of a parameter in
    ``BLANK_MEANS_ABSENT`` (``?symbol=``, as a URL template filled with blanks sends) means "no
    filter"; the symbol is validated and upper-cased.
    """

    BLANK_MEANS_ABSENT: tuple[str, ...] = ("symbol",)

    class Meta:
        unknown = ma.RAISE

    offset = ma.fields.Integer(load_default=0, validate=validate.Range(min=0, max=MAX_OFFSET))
    premium_only = ma.fields.Boolean(load_default=False, metadata={"description": "Only confidence >= 95."})
    symbol = ma.fields.String(load_default=None, metadata={"description": "e.g. AAPL (case-insensitive)"})

    @ma.pre_load
    def _blank_means_absent(self, data: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
        return {k: v for k, v in data.items() if not (k in self.BLANK_MEANS_ABSENT and v == "")}

    @ma.validates("symbol")
    def _check_symbol(self, value: str | None, **kwargs: Any) -> None:
        if value is not None and not SYMBOL_RE.match(value.upper()):
            raise ma.ValidationError("Must be 1 to 15 characters of A-Z, 0-9, '.', '-', '/'.")

    @ma.post_load
    def _upper_symbol(self, data: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
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
    timestamp = ma.fields.String(
        required=True, metadata={"description": "ISO 8601 UTC, e.g. 2026-11-25T21:40:00Z"}
    )
    strategy = ma.fields.String(required=True)
    sha256 = ma.fields.String(
        required=True,
        metadata={
            "description": "hex SHA-256 of json.dumps({action, confidence, entry_price, stop_loss, "
            "strategy, symbol, take_profit, timestamp}, sort_keys=True, "
            "separators=(',', ':'))"
        },
    )
