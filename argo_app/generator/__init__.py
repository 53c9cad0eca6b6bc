"""Signal generation: indicators -> strategy votes -> weighted consensus -> Signal.

Modules, one job each:
  bars.py        the OHLCV container
  indicators.py  SMA, EMA, RSI (Wilder), MACD, ATR (Wilder), Donchian channel
  strategies.py  indicator strategies voting BUY/SELL/None with a strength 0..1
  consensus.py   weighted consensus -> action, confidence, ATR stop/target
  market.py      seeded synthetic market (geometric Brownian motion with regimes)
  csv_bars.py    OHLCV bars from CSV files
  engine.py      the pipelines the CLI runs (generate, import, live loop)
"""
