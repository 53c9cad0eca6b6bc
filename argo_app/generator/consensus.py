"""Weighted consensus of the strategies' votes -> action, confidence, levels.

score = sum(weight * direction * strength) / sum(weight), in -1..1.
action = sign(score); confidence = 50 + 50 * |score| (50 = a coin flip,
100 = every strategy agrees at full strength). Stop and target are ATR
multiples around the last close: BUY stop < entry < target, SELL the reverse.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from . import indicators as ind
from .bars import Bars
from .strategies import Strategy, default_strategies

STOP_ATR = 1.5
TARGET_ATR = 3.0
STRATEGY_NAME = "weighted_consensus"


@dataclass
class Consensus:
    direction: np.ndarray  # int8 per bar: +1 BUY, -1 SELL, 0 none
    confidence: np.ndarray  # 0..100 per bar
    atr: np.ndarray  # per bar, floored so levels never collapse
    warmup: int  # first bar where every strategy can vote


def consensus(bars: Bars, strategies: list[tuple[Strategy, float]] | None = None) -> Consensus:
    strategies = strategies or default_strategies()
    total = sum(w for _, w in strategies)
    score = np.zeros(len(bars))
    for strategy, weight in strategies:
        d, s = strategy.votes(bars)
        score += weight * d * s
    score /= total
    direction = np.sign(score).astype(np.int8)
    confidence = np.round(50.0 + 50.0 * np.abs(score), 2)
    raw_atr = ind.atr(bars.high, bars.low, bars.close, 14)
    # Floor: 0.1% of price (and 0.001 absolute) keeps stop/entry/target distinct
    # after rounding prices to 4 decimals.
    floored = np.fmax(np.nan_to_num(raw_atr, nan=0.0), np.fmax(np.abs(bars.close) * 1e-3, 1e-3))
    warmup = max(max(s.warmup for s, _ in strategies), 14)
    return Consensus(direction, confidence, floored, warmup)


def levels(action: str, entry: float, atr: float) -> tuple[float, float]:
    """(stop_loss, take_profit) for an entry at ``entry``."""
    if action == "BUY":
        return entry - STOP_ATR * atr, entry + TARGET_ATR * atr
    return entry + STOP_ATR * atr, entry - TARGET_ATR * atr
