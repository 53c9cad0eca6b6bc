"""The Signal as served: rounding, timestamp format, hash and stored JSON text.

Everything that decides what a signal looks like on the wire lives here so the
store, the generator and the benchmark cannot disagree. Values are rounded
*before* hashing (prices to 4 decimals, confidence to 2) so the served numbers
are exactly the hashed numbers.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime

from .integrity import signal_sha256

PREMIUM_CONFIDENCE = 95.0  # a premium signal has confidence >= 95
ACTIONS = ("BUY", "SELL")
# One timestamp format, everywhere: ISO 8601 UTC to the second with a "Z".
# Fixed width, so text order == time order (the indexes rely on it).
TIMESTAMP_FORMAT = "%Y-%m-%dT%H:%M:%SZ"


def format_timestamp(when: datetime) -> str:
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return when.astimezone(UTC).strftime(TIMESTAMP_FORMAT)


def parse_timestamp(text: str) -> datetime:
    return datetime.strptime(text, TIMESTAMP_FORMAT).replace(tzinfo=UTC)


def make_signal(
    *,
    symbol: str,
    action: str,
    confidence: float,
    entry_price: float,
    stop_loss: float,
    take_profit: float,
    timestamp: datetime | str,
    strategy: str,
) -> dict:
    """Build a served Signal dict (with ``sha256``) from raw values."""
    if action not in ACTIONS:
        raise ValueError(f"action must be BUY or SELL, not {action!r}")
    entry = round(float(entry_price), 4)
    stop = round(float(stop_loss), 4)
    target = round(float(take_profit), 4)
    conf = round(min(100.0, max(0.0, float(confidence))), 2)
    if action == "BUY" and not stop < entry < target:
        raise ValueError(f"BUY needs stop < entry < target, got {stop} {entry} {target}")
    if action == "SELL" and not target < entry < stop:
        raise ValueError(f"SELL needs target < entry < stop, got {target} {entry} {stop}")
    ts = timestamp if isinstance(timestamp, str) else format_timestamp(timestamp)
    signal = {
        "symbol": symbol.upper(),
        "action": action,
        "confidence": conf,
        "price": entry,
        "entry_price": entry,
        "stop_loss": stop,
        "take_profit": target,
        "target_price": target,
        "timestamp": ts,
        "strategy": strategy,
    }
    signal["sha256"] = signal_sha256(signal)
    return signal


def to_payload(signal: dict) -> str:
    """The JSON text stored with the row and served verbatim.

    ``json.dumps`` writes floats in Python's shortest round-trip form, the same
    form the hash was computed over, so a client parsing this text recomputes
    the same hash.
    """
    return json.dumps(signal, separators=(",", ":"))
