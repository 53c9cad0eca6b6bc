"""Engine-level settings and helpers for outside-request code.

Flask-SQLAlchemy 3 scopes the session to the app context and removes it at
teardown, so request code never opens or closes sessions itself. CLI commands
and Celery tasks run inside an app context too (see celery_app.py), and use
``session_scope()`` where they want a commit-or-rollback block.
"""
from __future__ import annotations

from contextlib import contextmanager

from flask import Flask
from sqlalchemy import event

from app.extensions import db


@contextmanager
def session_scope():
    """Commit on success, roll back on error; the session itself is app-scoped."""
    try:
        yield db.session
        db.session.commit()
    except BaseException:
        db.session.rollback()
        raise


def _enable_sqlite_pragmas(dbapi_connection, _record):
    cursor = dbapi_connection.cursor()
    # WAL lets the web, worker and beat processes read while one writes.
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=15000")
    cursor.close()


def init_app(app: Flask) -> None:
    if app.config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite"):
        with app.app_context():
            event.listen(db.engine, "connect", _enable_sqlite_pragmas)
