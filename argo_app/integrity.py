"""Signal integrity: the one-line SHA-256 anyone can recompute.

Alpine imports this module (``from argo_app.integrity import signal_sha256,
verify_signal``), so it must stay tiny: standard library only, no Flask, no
numpy, nothing that opens a connection.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping

# The fields covered by the hash, in the API's documented order (the JSON is
# sorted anyway, so the order here is documentation only).
HASHED_FIELDS = (
    "action",
    "confidence",
    "entry_price",
    "stop_loss",
    "strategy",
    "symbol",
    "take_profit",
    "timestamp",
)


def canonical_json(signal: Mapping) -> str:
    """The exact text that is hashed (values as served, keys sorted, no spaces)."""
    return json.dumps({k: signal[k] for k in HASHED_FIELDS}, sort_keys=True, separators=(",", ":"))


def signal_sha256(signal: Mapping) -> str:
    """Hex SHA-256 of the canonical JSON of ``signal``'s hashed fields."""
    return hashlib.sha256(canonical_json(signal).encode("utf-8")).hexdigest()


def verify_signal(signal: Mapping) -> bool:
    """True when ``signal["sha256"]`` matches its fields; never raises."""
    try:
        claimed = signal["sha256"]
        return isinstance(claimed, str) and signal_sha256(signal) == claimed
    except Exception:  # noqa: BLE001 - any malformed input simply does not verify
        return False
