"""Signal generation: determinism, premium share, CSV input, the live feed."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from argo_app.generator.csv_bars import CSVFormatError, read_csv, read_path
from argo_app.generator.engine import DEFAULT_END, LiveFeed, generate, signals_from_bars
from argo_app.generator.market import synthetic_bars
from argo_app.integrity import verify_signal


def test_same_seed_same_signals_including_timestamps():
    a, b = generate(400, seed=5), generate(400, seed=5)
    assert a == b and len(a) == 400
    assert generate(400, seed=6) != a
    assert max(s["timestamp"] for s in a) <= "2026-01-05T16:00:00Z"


def test_adding_a_symbol_does_not_change_the_others():
    # same bars per symbol (count / symbols) -> AAPL's own random stream, same signals
    two = [s for s in generate(1000, seed=5, symbols=["AAPL", "MSFT"]) if s["symbol"] == "AAPL"]
    three = [s for s in generate(1500, seed=5, symbols=["AAPL", "MSFT", "SPY"]) if s["symbol"] == "AAPL"]
    assert len(two) > 50 and two[-50:] == three[-50:]


def test_a_realistic_share_is_premium():
    signals = generate(4000, seed=8)
    share = sum(s["confidence"] >= 95 for s in signals) / len(signals)
    assert 0.08 <= share <= 0.2
    actions = {s["action"] for s in signals}
    assert actions == {"BUY", "SELL"}
    assert all(verify_signal(s) for s in signals)
    for s in signals:
        lo, hi = sorted((s["stop_loss"], s["take_profit"]))
        assert lo < s["entry_price"] < hi


def write_csv(path, bars, with_symbol=False):
    with open(path, "w") as fh:
        fh.write(("symbol," if with_symbol else "") + "Date,Open,High,Low,Close,Volume\n")
        for i, t in enumerate(bars.times):
            fh.write(
                (f"{bars.symbol}," if with_symbol else "")
                + f"{t.isoformat()},{bars.open[i]},{bars.high[i]},{bars.low[i]},"
                f"{bars.close[i]},{bars.volume[i]}\n"
            )


def test_csv_round_trip_gives_the_same_signals(tmp_path):
    bars = synthetic_bars("tsla", 3, 300, DEFAULT_END)
    write_csv(tmp_path / "tsla.csv", bars)
    (loaded,) = read_csv(tmp_path / "tsla.csv")
    assert loaded.symbol == "TSLA" and len(loaded) == 300
    assert signals_from_bars(loaded) == signals_from_bars(bars)


def test_csv_symbol_column_and_directory(tmp_path):
    write_csv(tmp_path / "mixed.csv", synthetic_bars("AAA", 1, 60, DEFAULT_END), with_symbol=True)
    with open(tmp_path / "mixed.csv", "a") as fh:
        fh.write("BBB,2026-01-01,10,11,9,10.5,100\n")
    (tmp_path / "x.txt").write_text("ignored")
    got = read_path(tmp_path)
    assert [b.symbol for b in got] == ["AAA", "BBB"]
    assert got[1].times == [datetime(2026, 1, 1, tzinfo=UTC)]


@pytest.mark.parametrize(
    "content,needle",
    [
        ("date,open,high,low\n2026-01-01,1,2,0\n", "close"),
        ("date,open,high,low,close\nnot-a-date,1,2,0,1\n", "line 2"),
        ("date,open,high,low,close\n2026-01-01,1,2,zero,1\n", "line 2"),
    ],
)
def test_csv_errors_say_what_is_wrong(tmp_path, content, needle):
    (tmp_path / "bad.csv").write_text(content)
    with pytest.raises(CSVFormatError, match=needle):
        read_path(tmp_path / "bad.csv")


def test_live_feed_stamps_signals_with_the_tick_time():
    feed = LiveFeed(["AAPL", "MSFT", "SPY"], seed=1, now=datetime(2026, 3, 1, tzinfo=UTC))
    found = []
    for minute in range(1, 20):
        found += feed.tick(datetime(2026, 3, 1, 0, minute, 30, 123456, tzinfo=UTC))
    assert found, "a few ticks over 3 symbols should publish something"
    assert all(s["timestamp"].startswith("2026-03-01T00:") and s["timestamp"].endswith(":30Z") for s in found)
