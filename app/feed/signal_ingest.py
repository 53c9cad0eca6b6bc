"""Verify signals from Argo and store them in Alpine's local copy.

Every signal that reaches Alpine passes ``check()`` before it is stored *or*
served: its sha256 is recomputed with Argo's own helper
(``argo_app.integrity.verify_signal``), the unhashed fields must agree with
the hashed ones (``price == entry_price``, ``target_price == take_profit``),
and the row we would store must render back to a signal that verifies (so the
stale path can never serve what the fresh path would have refused). A
rejected signal is logged and counted (``alpine_signals_rejected_total``) and
dropped.

Storing is one ``INSERT ... ON CONFLICT (sha256) DO NOTHING`` statement per
batch (the dialect inserts of PostgreSQL and SQLite). The feed calls
``store_new`` on every request, so a per-process set of recently stored
sha256s keeps the steady state at zero SQL: only signals not seen recently
are sent to the database.
"""

from __future__ import annotations

import logging
import math
import threading
from collections import OrderedDict
from collections.abc import Iterable
from collections.abc import Set as AbstractSet
from datetime import UTC, datetime

from flask import current_app
from sqlalchemy.dialects import postgresql, sqlite

from app.extensions import db
from app.feed.feed_metrics import SIGNALS_REJECTED
from app.feed.models import Signal
from app.webhooks import fanout as webhook_fanout
from argo_app.integrity import verify_signal

log = logging.getLogger(__name__)

# The served Signal, in the API's documented field order.
SIGNAL_FIELDS = (
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
)
_FLOAT_FIELDS = ("confidence", "price", "entry_price", "stop_loss", "take_profit", "target_price")
_SECOND_FORMAT = "%Y-%m-%dT%H:%M:%SZ"
_MICRO_FORMAT = "%Y-%m-%dT%H:%M:%S.%fZ"


# -- verification ------------------------------------------------------------
def _reason(raw, roundtrip: bool = True) -> str | None:
    """Why ``raw`` must be rejected, or None when it is a valid, verified signal.

    ``roundtrip=False`` skips the store-and-render-back check: only for a
    sha256 already stored (its hashed fields, hence its row, are identical)."""
    if not isinstance(raw, dict):
        return "malformed"
    if any(name not in raw for name in SIGNAL_FIELDS):
        return "malformed"
    for name in _FLOAT_FIELDS:
        value = raw[name]
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
            return "malformed"
    if not all(isinstance(raw[k], str) for k in ("symbol", "action", "timestamp", "strategy", "sha256")):
        return "malformed"
    if raw["action"] not in ("BUY", "SELL") or not 0 <= raw["confidence"] <= 100:
        return "malformed"
    if len(raw["symbol"]) > 16 or len(raw["strategy"]) > 64:
        return "malformed"
    if not verify_signal(raw):
        return "sha256_mismatch"
    if raw["price"] != raw["entry_price"] or raw["target_price"] != raw["take_profit"]:
        return "inconsistent"
    if not roundtrip:
        return None
    try:
        row = to_row(raw)
    except ValueError:
        return "malformed"
    if not verify_signal(row_to_signal(row)):
        return "not_storable"  # e.g. a timestamp form we would not serve back identically
    return None


def check(raw, source: str, stored: AbstractSet[str] = frozenset()) -> dict | None:
    """The signal with exactly the Signal fields, or None (logged and counted).

    ``stored``: sha256s known to be in the local copy already (cheaper check)."""
    sha = raw.get("sha256") if isinstance(raw, dict) else None
    # Only a string is looked up: a list or object would raise (unhashable); _reason rejects it.
    reason = _reason(raw, roundtrip=not (isinstance(sha, str) and sha in stored))
    if reason is None:
        return {name: raw[name] for name in SIGNAL_FIELDS}
    SIGNALS_REJECTED.labels(reason, source).inc()
    log.warning("rejected signal from argo (%s, source=%s, sha256=%.64s)", reason, source, sha)
    return None


def accept_many(raws: Iterable, source: str, *, use_recent: bool = False) -> list[dict]:
    """The valid, verified signals of ``raws`` (the rest rejected and counted).
    ``use_recent``: skip the render-back check for sha256s this process stored."""
    raws = list(raws)
    stored: AbstractSet[str] = _recent().known(_string_sha256s(raws)) if use_recent else frozenset()
    return [s for s in (check(raw, source, stored) for raw in raws) if s is not None]


def _string_sha256s(raws: list) -> list[str]:
    """The sha256s that are strings (anything else is rejected by check(), and a
    list or object would raise in a set lookup)."""
    return [r["sha256"] for r in raws if isinstance(r, dict) and isinstance(r.get("sha256"), str)]


# -- row <-> signal ------------------------------------------------------------
def _parse_timestamp(text: str) -> datetime:
    when = datetime.fromisoformat(text)  # Python 3.11 accepts the trailing "Z"
    if when.tzinfo is None:
        raise ValueError("timestamp without a timezone")
    return when.astimezone(UTC)


def format_timestamp(when: datetime) -> str:
    """The canonical served form (SQLite hands back naive UTC datetimes)."""
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    when = when.astimezone(UTC)
    return when.strftime(_MICRO_FORMAT if when.microsecond else _SECOND_FORMAT)


def to_row(signal: dict) -> dict:
    row = {name: signal[name] for name in SIGNAL_FIELDS}
    for name in _FLOAT_FIELDS:
        row[name] = float(row[name])
    row["timestamp"] = _parse_timestamp(signal["timestamp"])
    return row


def row_to_signal(row) -> dict:
    """A stored row (ORM object, Row or dict) as the served Signal dict."""
    get = row.__getitem__ if isinstance(row, dict) else lambda k: getattr(row, k)
    signal = {name: get(name) for name in SIGNAL_FIELDS}
    signal["timestamp"] = format_timestamp(signal["timestamp"])
    return signal


# -- storing -------------------------------------------------------------------
class RecentSet:
    """A bounded, thread-safe set of recently stored sha256s (LRU eviction)."""

    def __init__(self, size: int) -> None:
        self._size = max(1, size)
        self._items: OrderedDict[str, None] = OrderedDict()
        self._lock = threading.Lock()

    def known(self, keys: Iterable[str]) -> set[str]:
        with self._lock:
            return {k for k in keys if k in self._items}

    def missing(self, keys: Iterable[str]) -> list[str]:
        with self._lock:
            return [k for k in keys if k not in self._items]

    def add(self, keys: Iterable[str]) -> None:
        with self._lock:
            for k in keys:
                self._items[k] = None
                self._items.move_to_end(k)
            while len(self._items) > self._size:
                self._items.popitem(last=False)

    def clear(self) -> None:
        with self._lock:
            self._items.clear()


def _recent() -> RecentSet:
    # Per app (one per process in production); setdefault is atomic.
    recent = current_app.extensions.get("signal_recent_sha256")
    if recent is None:
        recent = current_app.extensions.setdefault(
            "signal_recent_sha256", RecentSet(current_app.config.get("SIGNAL_SEEN_CACHE_SIZE", 4096))
        )
    return recent


def _insert_statement(rows: list[dict]):
    dialect = db.session.get_bind().dialect.name
    module = {"postgresql": postgresql, "sqlite": sqlite}.get(dialect)
    if module is None:
        raise RuntimeError(f"no INSERT ... ON CONFLICT for dialect {dialect!r}")
    # RETURNING counts what was new: psycopg 3 reports rowcount -1 for a
    # multi-row INSERT ... ON CONFLICT compiled by SQLAlchemy.
    return (
        module.insert(Signal)
        .values(rows)
        .on_conflict_do_nothing(index_elements=["sha256"])
        .returning(Signal.sha256)
    )


def store_new(signals: list[dict], *, use_recent: bool = True) -> int:
    """Insert verified signals not stored yet; returns how many rows were new.

    ``signals`` come newest first (Argo's order); they are inserted oldest
    first so that, within one timestamp, ids follow Argo's order. Commits.
    """
    recent = _recent()
    if use_recent:
        todo_keys = set(recent.missing(s["sha256"] for s in signals))
        todo = [s for s in signals if s["sha256"] in todo_keys]
    else:
        todo = list(signals)
    if not todo:
        return 0
    unique: dict[str, dict] = {}
    for s in reversed(todo):
        unique.setdefault(s["sha256"], to_row(s))
    new_sha256s = db.session.execute(_insert_statement(list(unique.values()))).scalars().all()
    db.session.commit()
    recent.add(unique)
    # Only the process whose insert created the row pushes it: once per signal.
    webhook_fanout.enqueue_new_signals(new_sha256s)
    return len(new_sha256s)


def forget_recent() -> None:
    """Drop the per-process memory of stored sha256s (tests, after a wipe)."""
    _recent().clear()
