"""Technical indicators over numpy arrays.

Every function returns an array as long as its input, NaN where the indicator
is not yet defined (its warm-up), so results line up bar for bar.
"""

from __future__ import annotations

import numpy as np


def sma(x: np.ndarray, n: int) -> np.ndarray:
    x = np.asarray(x, dtype=float)
    out = np.full_like(x, np.nan)
    if len(x) >= n:
        c = np.cumsum(np.insert(x, 0, 0.0))
        out[n - 1 :] = (c[n:] - c[:-n]) / n
    return out


def ema(x: np.ndarray, n: int) -> np.ndarray:
    """Exponential moving average, alpha = 2/(n+1), seeded with the SMA of the
    first n values (the usual charting convention)."""
    x = np.asarray(x, dtype=float)
    out = np.full_like(x, np.nan)
    valid = np.flatnonzero(~np.isnan(x))
    if len(valid) < n:
        return out
    start = valid[0]
    alpha = 2.0 / (n + 1)
    prev = x[start : start + n].mean()
    out[start + n - 1] = prev
    for i in range(start + n, len(x)):
        prev = prev + alpha * (x[i] - prev)
        out[i] = prev
    return out


def wilder(x: np.ndarray, n: int, first: int) -> np.ndarray:
    """Wilder's smoothing (alpha = 1/n), seeded at index ``first + n - 1`` with
    the plain mean of x[first : first + n]."""
    out = np.full(len(x), np.nan)
    if len(x) - first < n:
        return out
    prev = float(np.mean(x[first : first + n]))
    out[first + n - 1] = prev
    for i in range(first + n, len(x)):
        prev = (prev * (n - 1) + x[i]) / n
        out[i] = prev
    return out


def rsi(close: np.ndarray, n: int = 14) -> np.ndarray:
    """Wilder's RSI. The first value is at index n (it needs n price changes)."""
    close = np.asarray(close, dtype=float)
    delta = np.diff(close, prepend=np.nan)  # delta[i] = close[i] - close[i-1]
    gains = np.where(delta > 0, delta, 0.0)
    losses = np.where(delta < 0, -delta, 0.0)
    avg_gain = wilder(gains, n, first=1)
    avg_loss = wilder(losses, n, first=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        rs = avg_gain / avg_loss
        out = 100.0 - 100.0 / (1.0 + rs)
    # No losses at all: 100 if it only rose, 50 if it did not move.
    flat = (avg_loss == 0) & ~np.isnan(avg_gain)
    out[flat] = np.where(avg_gain[flat] > 0, 100.0, 50.0)
    return out


def macd(close: np.ndarray, fast: int = 12, slow: int = 26, signal: int = 9):
    """(macd line, signal line, histogram)."""
    line = ema(close, fast) - ema(close, slow)
    sig = ema(line, signal)
    return line, sig, line - sig


def true_range(high, low, close) -> np.ndarray:
    high, low, close = (np.asarray(a, dtype=float) for a in (high, low, close))
    prev_close = np.concatenate(([np.nan], close[:-1]))
    tr = np.fmax(high - low, np.fmax(np.abs(high - prev_close), np.abs(low - prev_close)))
    tr[0] = high[0] - low[0]
    return tr


def atr(high, low, close, n: int = 14) -> np.ndarray:
    """Wilder's average true range; the first value (index n-1) is the mean of
    the first n true ranges, the first of which is high - low."""
    return wilder(true_range(high, low, close), n, first=0)


def donchian(high, low, n: int = 20):
    """(upper, lower) of the previous n bars, excluding the current one, so a
    close above ``upper`` is a breakout."""
    high, low = np.asarray(high, dtype=float), np.asarray(low, dtype=float)
    upper = np.full_like(high, np.nan)
    lower = np.full_like(low, np.nan)
    if len(high) > n:
        win_h = np.lib.stride_tricks.sliding_window_view(high, n)[:-1]
        win_l = np.lib.stride_tricks.sliding_window_view(low, n)[:-1]
        upper[n:] = win_h.max(axis=1)
        lower[n:] = win_l.min(axis=1)
    return upper, lower
