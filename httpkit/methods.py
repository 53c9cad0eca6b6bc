"""A closed set of HTTP methods, shared by both services (like http_errors).

A method is whatever token a client puts first on the request line: anything a
request handler turns into a label, a Redis field or a SQL row must not take it
as is (2,000 made-up methods were 2,000 Prometheus series and SQL rows, and two
17-character ones, truncated to the same ``String(16)`` key, blocked the
analytics rollup on PostgreSQL). So, at the edge:

- a WSGI middleware rewrites any method outside :data:`KNOWN_METHODS` to
  ``OTHER`` before Flask sees it (the same pattern as Flask's documented
  "HTTP method overrides" middleware), so the routing, the Prometheus exporter
  and our own counters only ever see eight values; the original is kept in the
  environ under :data:`ORIGINAL_METHOD_KEY` for whoever needs to log it;
- a ``before_request`` hook answers ``OTHER`` with 405 ``method_not_allowed``
  on every path, known or not (``Allow`` lists the route's methods when the
  path exists).

TRACE and CONNECT are real methods, but no route of ours takes them, so they
are ``OTHER`` too.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from flask import Flask, request
from werkzeug.exceptions import MethodNotAllowed

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIApplication, WSGIEnvironment

KNOWN_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
OTHER = "OTHER"
ORIGINAL_METHOD_KEY = "http_methods.original"


def method_label(method: str) -> str:
    """``method`` if it is one of the known seven, else ``OTHER``."""
    return method if method in KNOWN_METHODS else OTHER


class ClosedMethods:
    """WSGI middleware: unknown methods reach the app as ``OTHER``."""

    def __init__(self, wsgi_app: WSGIApplication) -> None:
        self.wsgi_app = wsgi_app

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        method = environ.get("REQUEST_METHOD", "GET")
        if method not in KNOWN_METHODS and method.upper() not in KNOWN_METHODS:
            environ[ORIGINAL_METHOD_KEY] = method
            environ["REQUEST_METHOD"] = OTHER
        return self.wsgi_app(environ, start_response)


def _refuse_other_methods() -> None:
    if request.method != OTHER:
        return None
    exc = request.routing_exception
    if isinstance(exc, MethodNotAllowed):
        raise exc  # the path exists: its 405 carries Allow
    raise MethodNotAllowed()


def init_app(app: Flask) -> None:
    """Install both halves. Call it before anything else registers an app-wide
    ``before_request`` hook: Flask runs them in registration order, and this one
    must answer a made-up method before any auth check or validation does.
    (Alpine's request timer runs earlier still, on Flask's ``request_started``.)"""
    # Flask's documented way to wrap middleware; its type hints call wsgi_app a method.
    app.wsgi_app = ClosedMethods(app.wsgi_app)  # type: ignore[method-assign]
    app.before_request(_refuse_other_methods)
