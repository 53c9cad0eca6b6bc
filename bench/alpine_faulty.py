"""Bench only: the real Alpine app plus two extra routes for the soak (bench/soak.py).

    gunicorn ... 'bench.alpine_faulty:build()'

- ``GET /_soak/raise``: reads from the database, then raises inside the handler
  (a bug): the request gets the 500 envelope and its connection must go back.
- ``GET /_soak/pool``: this worker's SQLAlchemy pool (``checkedout()`` etc.);
  it does not touch the session itself, so it never counts itself.
"""

from __future__ import annotations

import os

from flask import Blueprint, Flask
from sqlalchemy import text


def build() -> Flask:
    from app import create_app
    from app.extensions import db

    app = create_app()
    bp = Blueprint("soak", __name__, url_prefix="/_soak")

    @bp.get("/raise")
    def raise_after_query():
        db.session.execute(text("SELECT 1")).all()  # a connection is checked out now
        raise RuntimeError("soak: a bug inside a handler")

    @bp.get("/pool")
    def pool_state():
        pool = db.engine.pool
        return {
            "pid": os.getpid(),
            "checkedout": pool.checkedout(),
            "size": pool.size(),
            "overflow": pool.overflow(),
        }

    app.register_blueprint(bp)
    return app
