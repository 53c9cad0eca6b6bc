"""The feed window: the newest ``FEED_WINDOW`` verified signals, pre-serialised.

Signals are broadcast data (the same few thousand rows for every subscriber
of a tier), so each web process keeps them in memory as JSON fragments next
to the two fields the feed filters on (confidence, symbol). A feed page
inside the window is the window filtered and sliced, its fragments joined
into the response body: no upstream call, no SQL, no per-signal encoding.

A ``Window`` is immutable. The poller (app/feed/window_poller.py) builds a
new one and swaps it in with one reference assignment; a request reads the
reference once and works on that snapshot without a lock. Filtered views
(starter, premium, per symbol) are computed on first use and memoised in the
snapshot (a race computes the same tuple twice, harmlessly).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

from app.accounts.tiers import PREMIUM_CONFIDENCE


@dataclass(frozen=True, slots=True)
class Entry:
    sha256: str
    symbol: str
    confidence: float
    fragment: str  # the served Signal as JSON text
    signal: dict  # the verified Signal (to notice Argo serving it changed later)

    @classmethod
    def from_signal(cls, signal: dict) -> Entry:
        """``signal``: a verified Signal dict (app/feed/signal_ingest.py ``check``)."""
        # json, not orjson: floats in Python's repr, exactly as the sha256 was computed.
        return cls(
            signal["sha256"],
            signal["symbol"],
            float(signal["confidence"]),
            json.dumps(signal, separators=(",", ":"), allow_nan=False),
            signal,
        )

    def same_as(self, raw) -> bool:
        """Does Argo still serve exactly the signal verified into this entry?"""
        return isinstance(raw, dict) and all(raw.get(k) == v for k, v in self.signal.items())


@dataclass(frozen=True)
class Window:
    """Newest first, in Argo's order. ``complete``: Argo holds nothing older."""

    entries: tuple[Entry, ...]
    complete: bool
    shas: frozenset[str] = field(default=frozenset())
    symbols: frozenset[str] = field(default=frozenset())
    _views: dict = field(default_factory=dict, compare=False, repr=False)

    @classmethod
    def build(cls, entries: tuple[Entry, ...], complete: bool) -> Window:
        return cls(
            entries,
            complete,
            frozenset(e.sha256 for e in entries),
            frozenset(e.symbol for e in entries),
        )

    def view(self, *, include_premium: bool, premium_only: bool, symbol: str | None) -> tuple[Entry, ...]:
        """The entries a feed with these filters pages through, newest first."""
        if symbol and symbol not in self.symbols:
            return ()  # never memoise a caller's made-up symbol
        key = (include_premium, premium_only, symbol or None)
        cached = self._views.get(key)
        if cached is not None:
            return cached
        entries = self.entries
        if symbol:
            entries = tuple(e for e in entries if e.symbol == symbol)
        if premium_only:
            entries = tuple(e for e in entries if e.confidence >= PREMIUM_CONFIDENCE)
        elif not include_premium:
            entries = tuple(e for e in entries if e.confidence < PREMIUM_CONFIDENCE)
        self._views[key] = entries
        return entries

    def page(
        self, *, limit: int, offset: int, include_premium: bool, premium_only: bool, symbol: str | None
    ) -> tuple[Entry, ...] | None:
        """The page, or None when it reaches past the window (a deeper page:
        the caller takes the upstream path)."""
        view = self.view(include_premium=include_premium, premium_only=premium_only, symbol=symbol)
        end = offset + limit
        if end > len(view) and not self.complete:
            return None
        return view[offset:end]


EMPTY = Window.build((), complete=False)


def render(page: tuple[Entry, ...], *, limit: int, offset: int, tier: str, stale: bool = False) -> str:
    """The feed's response body with the fragments joined in (no per-signal encoding)."""
    signals = ",".join(e.fragment for e in page)
    return (
        f'{{"count":{len(page)},"limit":{int(limit)},"offset":{int(offset)},"signals":[{signals}],'
        f'"stale":{"true" if stale else "false"},"tier":{json.dumps(tier)}}}'
    )
