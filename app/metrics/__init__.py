"""Request metrics: the counting hook, the Redis -> SQL rollup, the /metrics exporter.

request.py     per-process aggregation + flusher to per-minute Redis hashes
keys.py        the Redis key layout both sides share
rollup.py      closed minutes -> SQL tables, exactly once (design in its docstring)
prometheus.py  GET /metrics (multiprocess-safe under gunicorn)
"""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    from app.metrics import prometheus, request

    request.init_app(app)
    prometheus.init_app(app)
