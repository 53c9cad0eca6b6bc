"""Request metrics: the counting hook, the Redis -> SQL rollup, the /metrics exporter.

request.py     the hooks that time and count each request (init_app)
aggregator.py  the per-process aggregate and its exactly-once flush to per-minute Redis hashes
flusher.py     the flusher thread of each process and the exit flush
series.py      the flask_http_request_* Prometheus series, fed by the aggregate per flush
keys.py        the Redis key layout both sides share
rollup.py      closed minutes claimed in Redis and forgotten once in SQL (design in its docstring)
rollup_sql.py  one claimed batch into SQL, exactly once; rollup_rows.py parses it
prometheus.py  GET /metrics (multiprocess-safe under gunicorn)
analytics.py   the admin figures and request series, from SQL
"""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    from app.metrics import prometheus, request

    request.init_app(app)
    prometheus.init_app(app)
