"""The generation pipelines the CLI runs.

* ``signals_from_bars``: score a whole history, one signal per bar where the
  consensus is decisive enough (confidence >= MIN_CONFIDENCE).
* ``generate``: a seeded synthetic market -> the newest ``count`` signals.
  Timestamps come from the synthetic bars, which end at ``end`` (a fixed
  anchor by default), so the same seed gives the same signals, timestamps included.
* ``LiveFeed``: one new bar per symbol per tick, stamped with the wall clock,
  for the demo's ``signals loop``.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime

import numpy as np

from ..model import make_signal
from .bars import Bars
from .consensus import STRATEGY_NAME, consensus, levels
from .market import SyntheticMarket, bar_times, synthetic_bars

MIN_CONFIDENCE = 60.0  # below this the consensus is too weak to publish
DEFAULT_SYMBOLS = ("AAPL", "MSFT", "NVDA", "TSLA", "AMZN", "BTC-USD", "ETH-USD", "SPY")
# Default end of the synthetic history: a fixed anchor, so `generate --seed S`
# is reproducible run to run. Pass end=now for fresh timestamps.
DEFAULT_END = datetime(2026, 1, 5, 16, 0, tzinfo=UTC)
LIVE_HISTORY = 300  # bars kept per symbol by the live feed


def _signal_at(bars: Bars, c, i: int) -> dict:
    action = "BUY" if c.direction[i] > 0 else "SELL"
    entry = float(bars.close[i])
    stop, target = levels(action, entry, float(c.atr[i]))
    return make_signal(
        symbol=bars.symbol,
        action=action,
        confidence=float(c.confidence[i]),
        entry_price=entry,
        stop_loss=stop,
        take_profit=target,
        timestamp=bars.times[i],
        strategy=STRATEGY_NAME,
    )


def signals_from_bars(
    bars: Bars, min_confidence: float = MIN_CONFIDENCE, only_last: bool = False
) -> list[dict]:
    c = consensus(bars)
    start = max(c.warmup, len(bars) - 1) if only_last else c.warmup
    picks = np.flatnonzero((c.direction[start:] != 0) & (c.confidence[start:] >= min_confidence))
    return [_signal_at(bars, c, start + int(i)) for i in picks]


def generate(count: int, seed: int, symbols=DEFAULT_SYMBOLS, end: datetime = DEFAULT_END) -> list[dict]:
    """The newest ``count`` signals of a seeded synthetic market (fewer only if
    the market is too quiet, which does not happen with the defaults)."""
    if count <= 0:
        return []
    symbols = [s.upper() for s in symbols]
    per_symbol = math.ceil(count / len(symbols))
    n_bars = 100 + per_symbol * 3  # ~45% of bars publish; start with headroom
    for _ in range(6):
        found = [s for sym in symbols for s in signals_from_bars(synthetic_bars(sym, seed, n_bars, end))]
        if len(found) >= count:
            break
        n_bars *= 2
    found.sort(key=lambda s: (s["timestamp"], s["symbol"]))
    return found[-count:]


class LiveFeed:
    """Keeps a rolling synthetic history per symbol and adds one bar per tick."""

    def __init__(self, symbols=DEFAULT_SYMBOLS, seed: int = 0, now: datetime | None = None):
        now = now or datetime.now(UTC)
        self.markets = {s.upper(): SyntheticMarket(s, seed) for s in symbols}
        self.history: dict[str, Bars] = {}
        for sym, market in self.markets.items():
            self.history[sym] = Bars(sym, bar_times(now, LIVE_HISTORY), **market.walk(LIVE_HISTORY))

    def tick(self, now: datetime | None = None) -> list[dict]:
        now = (now or datetime.now(UTC)).replace(microsecond=0)
        out = []
        for sym, market in self.markets.items():
            old, new = self.history[sym], market.walk(1)
            bars = Bars(
                sym,
                old.times[1:] + [now],
                *(np.append(getattr(old, k)[1:], new[k]) for k in ("open", "high", "low", "close", "volume")),
            )
            self.history[sym] = bars
            out.extend(signals_from_bars(bars, only_last=True))
        return out
