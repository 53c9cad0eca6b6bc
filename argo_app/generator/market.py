"""A seeded synthetic market: geometric Brownian motion with regimes.

Each symbol has its own random stream derived from (seed, symbol), so the same
seed always gives the same bars, and adding a symbol does not change the others.
A hidden Markov regime (bull / bear / range) sets drift and volatility, so the
series have trends for the trend strategies and chop for the others.
"""

from __future__ import annotations

import zlib
from datetime import datetime, timedelta

import numpy as np

from .bars import Bars

# (drift per bar, volatility per bar)
REGIMES = np.array(
    [
        [0.0008, 0.004],  # bull
        [-0.0008, 0.005],  # bear
        [0.0, 0.003],
    ]
)  # range
STAY_PROBABILITY = 0.985
BAR_INTERVAL = timedelta(minutes=5)


class SyntheticMarket:
    """An endless price walk for one symbol; ``walk(n)`` continues where the last call stopped."""

    def __init__(self, symbol: str, seed: int):
        self.symbol = symbol.upper()
        self.rng = np.random.default_rng([seed, zlib.crc32(self.symbol.encode())])
        self.price = float(self.rng.uniform(20, 500))
        self.regime = int(self.rng.integers(len(REGIMES)))

    def walk(self, n: int) -> dict[str, np.ndarray]:
        rng = self.rng
        regimes = np.empty(n, dtype=int)
        for i in range(n):
            if rng.random() > STAY_PROBABILITY:
                self.regime = int(rng.integers(len(REGIMES)))
            regimes[i] = self.regime
        mu, sigma = REGIMES[regimes, 0], REGIMES[regimes, 1]
        log_returns = mu - 0.5 * sigma**2 + sigma * rng.standard_normal(n)
        close = self.price * np.exp(np.cumsum(log_returns))
        open_ = np.concatenate(([self.price], close[:-1]))
        wick = np.abs(rng.standard_normal((2, n))) * sigma * 0.5
        high = np.maximum(open_, close) * np.exp(wick[0])
        low = np.minimum(open_, close) * np.exp(-wick[1])
        volume = np.round(rng.lognormal(10, 0.5, n))
        self.price = float(close[-1])
        return {"open": open_, "high": high, "low": low, "close": close, "volume": volume}


def bar_times(end: datetime, n: int, interval: timedelta = BAR_INTERVAL) -> list[datetime]:
    """n bar timestamps, ``interval`` apart, the last one at ``end``."""
    return [end - (n - 1 - k) * interval for k in range(n)]


def synthetic_bars(symbol: str, seed: int, n: int, end: datetime) -> Bars:
    walk = SyntheticMarket(symbol, seed).walk(n)
    return Bars(symbol.upper(), bar_times(end, n), **walk)
