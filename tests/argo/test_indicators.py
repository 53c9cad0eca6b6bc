"""Indicator maths and strategy votes on hand-checked series."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import pytest

from argo_app.generator import indicators as ind
from argo_app.generator.bars import Bars
from argo_app.generator.consensus import STOP_ATR, TARGET_ATR, consensus, levels
from argo_app.generator.strategies import DonchianBreakout, MACDHistogram, MomentumRSI, TrendEMA

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def line_bars(start, step, n=120, spread=0.5):
    close = start + step * np.arange(n, dtype=float)
    times = [T0 + timedelta(minutes=5 * i) for i in range(n)]
    return Bars("TEST", times, close - step / 2, close + spread, close - spread, close, np.ones(n))


def nan_equal(a, b):
    np.testing.assert_allclose(np.asarray(a, dtype=float), np.asarray(b, dtype=float), equal_nan=True)


def test_sma_and_ema_by_hand():
    x = np.array([1, 2, 3, 4, 5, 6], dtype=float)
    nan_equal(ind.sma(x, 3), [np.nan, np.nan, 2, 3, 4, 5])
    # alpha = 2/(3+1) = 0.5, seeded with mean(1,2,3) = 2: 2, 3, 4, 5
    nan_equal(ind.ema(x, 3), [np.nan, np.nan, 2, 3, 4, 5])
    y = np.array([10, 10, 10, 20], dtype=float)
    nan_equal(ind.ema(y, 3), [np.nan, np.nan, 10, 15])


def test_rsi_wilder_by_hand():
    # changes: +1, +1, -1, +1 ; n = 2
    # idx2: avg gain 1, avg loss 0 -> 100
    # idx3: gain (1*1 + 0)/2 = 0.5, loss (0*1 + 1)/2 = 0.5 -> RS 1 -> 50
    # idx4: gain (0.5 + 1)/2 = 0.75, loss (0.5 + 0)/2 = 0.25 -> RS 3 -> 75
    nan_equal(ind.rsi(np.array([1, 2, 3, 2, 3], dtype=float), 2), [np.nan, np.nan, 100, 50, 75])


def test_rsi_extremes():
    assert ind.rsi(np.arange(1, 40, dtype=float), 14)[-1] == 100
    assert ind.rsi(np.arange(40, 1, -1, dtype=float), 14)[-1] == 0
    assert ind.rsi(np.full(30, 5.0), 14)[-1] == 50


def test_true_range_uses_gaps():
    # gap down: |low - prev close| = |7 - 9.5| = 2.5 < high - low = 3
    nan_equal(ind.true_range([10, 10], [9, 7], [9.5, 8]), [1, 3])
    # gap up: |high - prev close| = |12 - 9.5| = 2.5 > high - low = 1
    nan_equal(ind.true_range([10, 12], [9, 11], [9.5, 11.5]), [1, 2.5])


def test_atr_wilder_by_hand():
    high = [10, 11, 12, 15]
    low = [8, 9, 10, 11]
    close = [9, 10, 11, 12]
    # TR = 2, 2, 2, 4 ; ATR(3): mean(2,2,2) = 2 at idx 2, then (2*2 + 4)/3
    nan_equal(ind.atr(high, low, close, 3), [np.nan, np.nan, 2, 8 / 3])


def test_macd_of_a_constant_is_zero():
    line, sig, hist = ind.macd(np.full(60, 7.0))
    assert line[-1] == 0 and sig[-1] == 0 and hist[-1] == 0


def test_donchian_excludes_the_current_bar():
    high = np.array([1, 2, 3, 4, 10], dtype=float)
    low = np.array([0, 1, 2, 3, 4], dtype=float)
    upper, lower = ind.donchian(high, low, 3)
    nan_equal(upper, [np.nan, np.nan, np.nan, 3, 4])
    nan_equal(lower, [np.nan, np.nan, np.nan, 0, 1])


def test_rising_series_votes_buy_and_falling_votes_sell():
    up, down = line_bars(100, 0.5), line_bars(200, -0.5)
    for strategy in (TrendEMA(), MomentumRSI(), DonchianBreakout()):
        assert strategy.vote(up).action == "BUY", strategy.name
        assert strategy.vote(down).action == "SELL", strategy.name
        assert 0 < strategy.vote(up).strength <= 1
    assert TrendEMA().vote(up).strength == 1  # a 7-step EMA gap is > 1 ATR
    # a straight line has MACD line constant, so the histogram decays toward 0
    assert MACDHistogram().vote(up).strength < 0.2


def test_flat_series_abstains():
    flat = line_bars(100, 0.0)
    for strategy in (TrendEMA(), MomentumRSI(), MACDHistogram(), DonchianBreakout()):
        assert strategy.vote(flat).action is None


def test_consensus_on_a_trend_is_a_confident_buy():
    c = consensus(line_bars(100, 0.5))
    assert c.direction[-1] == 1
    assert 80 <= c.confidence[-1] <= 100
    c = consensus(line_bars(200, -0.5))
    assert c.direction[-1] == -1


@pytest.mark.parametrize("action", ["BUY", "SELL"])
def test_levels_are_atr_multiples_on_the_right_side(action):
    stop, target = levels(action, 100.0, 2.0)
    if action == "BUY":
        assert stop < 100 < target
    else:
        assert target < 100 < stop
    assert abs(stop - 100) == STOP_ATR * 2 and abs(target - 100) == TARGET_ATR * 2
