"""Alpine's error handling: the shared envelope, domain errors, database outages.

Services raise a ``DomainError`` subclass (``AccountError``, ...) and know
nothing of HTTP beyond its status and code; the one handler registered here
answers every one of them with the envelope, so views need no ``try/except``
to translate them.
"""

from __future__ import annotations

import logging

from flask import Flask
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError

from app.extensions import db
from httpkit.errors import APIError, error_response, internal_error_response, register_error_handlers

log = logging.getLogger(__name__)

__all__ = ["APIError", "DomainError", "init_app"]


class DomainError(Exception):
    """A rule of a domain was broken: answered as ``status`` / ``code`` with the message.

    Subclasses set ``status`` and ``code`` and may add ``details()`` and
    ``headers()`` (e.g. 429's ``Retry-After``).
    """

    status = 400
    code = "bad_request"

    def details(self) -> dict:
        return {}

    def headers(self) -> dict:
        return {}


def _domain_error(exc: DomainError):
    return error_response(exc.status, exc.code, str(exc), exc.details(), exc.headers())


def _database_unavailable(exc: Exception):
    # Give the connection back; pool_pre_ping replaces dead ones on next use,
    # so the app recovers by itself when the database returns.
    log.warning("database unavailable: %s", exc.__class__.__name__)
    try:
        db.session.rollback()
    except Exception:  # the session may be as broken as the connection
        log.debug("rollback after database error failed", exc_info=True)
    return error_response(
        503,
        "database_unavailable",
        "The database is unavailable; try again shortly.",
        headers={"Retry-After": "5"},
    )


def init_app(app: Flask) -> None:
    register_error_handlers(app)
    app.register_error_handler(DomainError, _domain_error)
    app.register_error_handler(OperationalError, _database_unavailable)
    app.register_error_handler(PoolTimeoutError, _database_unavailable)

    @app.errorhandler(DBAPIError)
    def _dbapi_error(exc: DBAPIError):
        if exc.connection_invalidated:
            return _database_unavailable(exc)
        db.session.rollback()
        return internal_error_response(exc)  # anything else is a bug
