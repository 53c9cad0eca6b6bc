"""Indicator strategies. Each votes, bar by bar, BUY (+1), SELL (-1) or None (0)
with a strength in 0..1. ``votes(bars)`` is vectorised over all bars so a whole
history is scored at once; ``vote(bars)`` is the vote at the last bar.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from . import indicators as ind
from .bars import Bars

ACTION_NAMES = {1: "BUY", -1: "SELL", 0: None}


@dataclass(frozen=True)
class Vote:
    action: str | None  # "BUY", "SELL" or None (abstain)
    strength: float  # 0..1


def _finish(direction: np.ndarray, strength: np.ndarray):
    """NaN (warm-up) -> abstain; strength clipped to 0..1, 0 when abstaining."""
    strength = np.nan_to_num(np.clip(strength, 0.0, 1.0), nan=0.0)
    direction = np.where(np.isnan(direction), 0, direction).astype(np.int8)
    direction[strength <= 0] = 0
    return direction, np.where(direction == 0, 0.0, strength)


def _atr_floor(bars: Bars) -> np.ndarray:
    a = ind.atr(bars.high, bars.low, bars.close, 14)
    # A flat market has ATR 0; floor it so strengths stay finite.
    return np.fmax(a, np.abs(bars.close) * 1e-4)


class Strategy:
    name = "strategy"
    warmup = 0

    def votes(self, bars: Bars) -> tuple[np.ndarray, np.ndarray]:
        raise NotImplementedError

    def vote(self, bars: Bars) -> Vote:
        d, s = self.votes(bars)
        return Vote(ACTION_NAMES[int(d[-1])], float(s[-1]))


class TrendEMA(Strategy):
    """Trend following: fast EMA above slow EMA -> BUY. Strength is the gap
    measured in ATRs (a full ATR or more of separation -> 1)."""

    name = "trend_ema"

    def __init__(self, fast: int = 12, slow: int = 26):
        self.fast, self.slow, self.warmup = fast, slow, slow

    def votes(self, bars):
        gap = ind.ema(bars.close, self.fast) - ind.ema(bars.close, self.slow)
        return _finish(np.sign(gap), np.abs(gap) / _atr_floor(bars))


class MomentumRSI(Strategy):
    """Momentum: Wilder RSI above 50 + dead_zone -> BUY, below 50 - dead_zone ->
    SELL; strength grows linearly to 1 at RSI 50 +/- full."""

    name = "momentum_rsi"

    def __init__(self, period: int = 14, dead_zone: float = 5.0, full: float = 25.0):
        self.period, self.dead_zone, self.full, self.warmup = period, dead_zone, full, period + 1

    def votes(self, bars):
        r = ind.rsi(bars.close, self.period) - 50.0
        strength = (np.abs(r) - self.dead_zone) / (self.full - self.dead_zone)
        return _finish(np.sign(r), strength)


class MACDHistogram(Strategy):
    """MACD histogram sign; strength is the histogram in units of ATR/4."""

    name = "macd"

    def __init__(self, fast: int = 12, slow: int = 26, signal: int = 9):
        self.args, self.warmup = (fast, slow, signal), slow + signal

    def votes(self, bars):
        _, _, hist = ind.macd(bars.close, *self.args)
        return _finish(np.sign(hist), np.abs(hist) / (0.25 * _atr_floor(bars)))


class DonchianBreakout(Strategy):
    """Breakout: where the close sits in the previous n bars' channel. A close
    at or beyond a band -> strength 1; the middle third -> abstain."""

    name = "donchian_breakout"

    def __init__(self, period: int = 20):
        self.period, self.warmup = period, period + 1

    def votes(self, bars):
        upper, lower = ind.donchian(bars.high, bars.low, self.period)
        half = np.fmax((upper - lower) / 2.0, np.abs(bars.close) * 1e-9)
        pos = (bars.close - (upper + lower) / 2.0) / half  # -1 at lower band, +1 at upper
        return _finish(np.sign(pos), (np.abs(pos) - 1 / 3) * 1.5)


def default_strategies() -> list[tuple[Strategy, float]]:
    """(strategy, weight) pairs of the consensus."""
    return [(TrendEMA(), 0.30), (MomentumRSI(), 0.25), (MACDHistogram(), 0.25), (DonchianBreakout(), 0.20)]
