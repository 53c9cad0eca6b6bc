"""Bench-only Flask apps for bench/argo_latest.py (never used in production).

The ceiling row uses bench/bare_app.py, like every suite.

* ``before_app()`` -- the seed's "before" /api/signals/latest, as written there:
  a new ``sqlite3.connect`` per request, ``SELECT * ... ORDER BY timestamp DESC
  LIMIT limit*2``, premium filtering in Python (so premium_only=true returns
  only the premium rows among the newest 2*limit). ARGO_BENCH_DB names the
  SQLite file; ARGO_BENCH_SCHEMA=old|new says which column names it has
  (old: stop_price/target_price, no index; new: Argo's indexed schema).
"""

from __future__ import annotations

import os
import sqlite3

from flask import Flask, jsonify, request


def before_app() -> Flask:
    app = Flask("bench_before")
    db_path = os.environ["ARGO_BENCH_DB"]
    old = os.environ.get("ARGO_BENCH_SCHEMA", "old") == "old"
    stop_col, target_col = ("stop_price", "target_price") if old else ("stop_loss", "take_profit")

    @app.get("/api/signals/latest")
    def get_latest_signals():
        limit = request.args.get("limit", 10, type=int)
        premium_only = request.args.get("premium_only", "false").lower() == "true"
        # Current implementation (seed, section 3)
        conn = sqlite3.connect(str(db_path))
        conn.row_factory = sqlite3.Row
        cursor = conn.cursor()
        query = "SELECT * FROM signals ORDER BY timestamp DESC LIMIT ?"
        cursor.execute(query, (limit * 2,))  # Get more to filter
        rows = cursor.fetchall()
        conn.close()  # Connection closed every time
        signals = []
        for row in rows:
            signal = {
                "symbol": row["symbol"],
                "action": row["action"],
                "confidence": row["confidence"],
                "price": row["entry_price"],
                "entry_price": row["entry_price"],
                "stop_loss": row[stop_col],
                "take_profit": row[target_col],
                "target_price": row[target_col],
                "timestamp": row["timestamp"],
                "strategy": row["strategy"],
                "sha256": row["sha256"],
            }
            # Filter in Python instead of SQL
            if premium_only and signal["confidence"] < 95:
                continue
            signals.append(signal)
        return jsonify(signals[:limit])

    return app
