"""OHLCV bars for one symbol, as parallel numpy arrays."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import numpy as np


@dataclass
class Bars:
    symbol: str
    times: list[datetime]  # UTC, ascending
    open: np.ndarray
    high: np.ndarray
    low: np.ndarray
    close: np.ndarray
    volume: np.ndarray

    def __post_init__(self):
        n = len(self.times)
        for name in ("open", "high", "low", "close", "volume"):
            arr = np.asarray(getattr(self, name), dtype=float)
            if arr.shape != (n,):
                raise ValueError(f"{name} has {arr.shape[0] if arr.ndim else 0} values, expected {n}")
            setattr(self, name, arr)

    def __len__(self) -> int:
        return len(self.times)
