"""Engine-level settings and helpers for outside-request code.

Flask-SQLAlchemy 3 scopes the session to the app context and removes it at
teardown, so request code never opens or closes sessions itself. CLI commands
and Celery tasks run inside an app context too (see celery_app.py).
"""

from __future__ import annotations

import logging
from typing import Any, cast

from flask import Flask
from sqlalchemy import CursorResult, Result, event

from app.extensions import db
from instance_files import private_file

log = logging.getLogger(__name__)


def rows_affected(result: Result[Any]) -> int:
    """The rows an UPDATE or DELETE matched.

    ``Session.execute`` is typed as returning a ``Result``; for those statements
    (without RETURNING) it is a ``CursorResult``, which carries the count."""
    return cast(CursorResult[Any], result).rowcount


def _enable_sqlite_pragmas(dbapi_connection, _record):
    cursor = dbapi_connection.cursor()
    # WAL lets the web, worker and beat processes read while one writes.
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=15000")
    cursor.close()


def _release_session(_exc) -> None:
    """Give the request's connection back, even when the database died under it.

    Flask-SQLAlchemy's own teardown calls ``session.remove()``, whose rollback
    raises if the connection was lost after the view ran (PostgreSQL restarted,
    ``pg_terminate_backend``): the exception escaped the WSGI app, so gunicorn
    answered an HTML 500 to a request that had succeeded, and the scoped session
    stayed registered. Registered after db.init_app, so it runs first (Flask runs
    teardowns in reverse); theirs then finds nothing to remove.
    """
    try:
        db.session.remove()
    except Exception as exc:  # noqa: BLE001 - the connection is gone; nothing to roll back
        log.warning("releasing the session failed (%s); connection discarded", exc.__class__.__name__)
        try:
            db.session.registry().close()  # second close: releases the invalidated connection
        except Exception:  # noqa: BLE001
            log.debug("second close failed", exc_info=True)
        db.session.registry.clear()


def _private_sqlite_file(database: str | None) -> None:
    """Create the SQLite file 0600 before SQLite does (it would use 0644 under the
    usual umask); its -wal/-shm files inherit the mode. Memory databases and
    ``file:`` URIs are left alone."""
    if database and database != ":memory:" and not database.startswith("file:"):
        private_file(database)


def init_app(app: Flask) -> None:
    app.teardown_appcontext(_release_session)
    if app.config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite"):
        with app.app_context():
            # The engine's URL: Flask-SQLAlchemy has made a relative path absolute.
            _private_sqlite_file(db.engine.url.database)
            event.listen(db.engine, "connect", _enable_sqlite_pragmas)
