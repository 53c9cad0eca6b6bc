"""The signal-integrity helper and the served signal shape."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys

import pytest

from argo_app.integrity import HASHED_FIELDS, signal_sha256, verify_signal
from argo_app.model import make_signal, parse_timestamp

SIGNAL_KEYS = {
    "symbol",
    "action",
    "confidence",
    "price",
    "entry_price",
    "stop_loss",
    "take_profit",
    "target_price",
    "timestamp",
    "strategy",
    "sha256",
}


def one_liner(s):
    """The documented recipe, verbatim."""
    return hashlib.sha256(
        json.dumps(
            {
                k: s[k]
                for k in (
                    "action",
                    "confidence",
                    "entry_price",
                    "stop_loss",
                    "strategy",
                    "symbol",
                    "take_profit",
                    "timestamp",
                )
            },
            sort_keys=True,
            separators=(",", ":"),
        ).encode("utf-8")
    ).hexdigest()


def test_every_served_signal_verifies_with_the_one_liner(argo_pop_client):
    served = []
    for offset in range(0, 3000, 500):
        served += argo_pop_client.get(f"/api/signals/latest?limit=500&offset={offset}").get_json()
    assert len(served) == 3000
    for s in served:
        assert set(s) == SIGNAL_KEYS
        assert one_liner(s) == s["sha256"] == signal_sha256(s)
        assert verify_signal(s)
        assert s["price"] == s["entry_price"] and s["target_price"] == s["take_profit"]
        assert s["action"] in ("BUY", "SELL") and 0 <= s["confidence"] <= 100
        parse_timestamp(s["timestamp"])  # one format everywhere: 2026-01-05T16:00:00Z
        if s["action"] == "BUY":
            assert s["stop_loss"] < s["entry_price"] < s["take_profit"]
        else:
            assert s["take_profit"] < s["entry_price"] < s["stop_loss"]


def test_served_values_are_exactly_the_rounded_hashed_values():
    s = make_signal(
        symbol="aapl",
        action="BUY",
        confidence=95.123456,
        entry_price=101.123456789,
        stop_loss=99.00004,
        take_profit=105.55556,
        timestamp="2026-01-05T16:00:00Z",
        strategy="weighted_consensus",
    )
    assert (s["symbol"], s["confidence"], s["entry_price"], s["stop_loss"], s["take_profit"]) == (
        "AAPL",
        95.12,
        101.1235,
        99.0,
        105.5556,
    )
    # a JSON round trip (what every client does) keeps the hash valid
    assert verify_signal(json.loads(json.dumps(s)))


@pytest.mark.parametrize("field", HASHED_FIELDS)
def test_tampering_with_any_hashed_field_fails(field):
    s = make_signal(
        symbol="MSFT",
        action="SELL",
        confidence=70,
        entry_price=300,
        stop_loss=303,
        take_profit=294,
        timestamp="2026-01-05T16:00:00Z",
        strategy="x",
    )
    tampered = dict(s)
    tampered[field] = (
        "BUY"
        if field == "action"
        else (tampered[field] + 0.01 if isinstance(tampered[field], float) else tampered[field] + "x")
    )
    assert verify_signal(s) and not verify_signal(tampered)


@pytest.mark.parametrize("bad", [{}, {"sha256": "0" * 64}, None, [], "text", {"action": "BUY"}])
def test_verify_never_raises(bad):
    assert verify_signal(bad) is False


def test_make_signal_refuses_wrong_sides():
    with pytest.raises(ValueError):
        make_signal(
            symbol="A",
            action="BUY",
            confidence=60,
            entry_price=10,
            stop_loss=11,
            take_profit=12,
            timestamp="2026-01-05T16:00:00Z",
            strategy="x",
        )
    with pytest.raises(ValueError):
        make_signal(
            symbol="A",
            action="HOLD",
            confidence=60,
            entry_price=10,
            stop_loss=9,
            take_profit=12,
            timestamp="2026-01-05T16:00:00Z",
            strategy="x",
        )


def test_integrity_module_is_light():
    code = (
        "import sys, argo_app.integrity; "
        "heavy = [m for m in ('flask', 'numpy', 'sqlite3', 'marshmallow') if m in sys.modules]; "
        "assert not heavy, heavy"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
