"""The JSON error envelope both services speak.

Every error, from every endpoint of Argo and Alpine, is
``{"error": {"code": <snake_case>, "message": <sentence>, "details": {...}}}`` —
never HTML, never a stack trace. This module is deliberately free of anything
Argo-specific so that Alpine can import it (dependencies point app -> argo_app,
never the other way).
"""
from __future__ import annotations

import logging
import uuid

import flask_smorest
import marshmallow as ma
from flask import Flask, Response, g, jsonify, request
from werkzeug.exceptions import HTTPException

log = logging.getLogger(__name__)

# HTTP status -> default error code when nothing more specific was raised.
DEFAULT_CODES = {
    400: "bad_request",
    401: "token_missing",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "payload_too_large",
    415: "unsupported_media_type",
    422: "validation_error",
    429: "rate_limited",
    500: "internal_error",
    503: "service_unavailable",
}

DEFAULT_MESSAGES = {
    404: "The requested resource was not found.",
    405: "This method is not allowed on this endpoint.",
    413: "The request body is larger than the server accepts.",
    422: "The request parameters or body failed validation.",
    500: "An internal error occurred; it has been logged.",
}


class APIError(Exception):
    """Raise anywhere in a request to answer with the envelope."""

    def __init__(self, status: int, code: str, message: str,
                 details: dict | None = None, headers: dict | None = None):
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.details = details or {}
        self.headers = headers or {}


def error_response(status: int, code: str, message: str,
                   details: dict | None = None, headers: dict | None = None) -> Response:
    resp = jsonify({"error": {"code": code, "message": message, "details": details or {}}})
    resp.status_code = status
    for key, value in (headers or {}).items():
        resp.headers[key] = value
    return resp


class ErrorSchema(ma.Schema):
    """Documents the envelope in the OpenAPI document."""

    class Inner(ma.Schema):
        code = ma.fields.String(required=True)
        message = ma.fields.String(required=True)
        details = ma.fields.Dict()

    error = ma.fields.Nested(Inner, required=True)


def _from_http_exception(exc: HTTPException) -> Response:
    status = exc.code or 500
    data = getattr(exc, "data", None) or {}
    messages = data.get("messages") or data.get("errors")
    headers = dict(data.get("headers") or {})
    if status == 400 and messages and "json" in messages and messages.get("json") == ["Invalid JSON body."]:
        # webargs' own malformed-JSON abort.
        return error_response(400, "invalid_json", "The request body is not valid JSON.")
    if status == 422:
        return error_response(422, "validation_error", data.get("message") or DEFAULT_MESSAGES[422],
                              details=messages or {}, headers=headers)
    if status == 405 and getattr(exc, "valid_methods", None):
        headers.setdefault("Allow", ", ".join(exc.valid_methods))
    message = data.get("message") or DEFAULT_MESSAGES.get(status) or (exc.description or exc.name)
    return error_response(status, DEFAULT_CODES.get(status, exc.name.lower().replace(" ", "_")),
                          message, details=messages or {}, headers=headers)


class Api(flask_smorest.Api):
    """flask-smorest's Api, answering its errors with our envelope."""

    ERROR_SCHEMA = ErrorSchema

    def handle_http_exception(self, error):  # noqa: D401 - flask-smorest hook
        return _from_http_exception(error)


def _request_id() -> str:
    rid = getattr(g, "request_id", None)
    if rid is None:
        incoming = request.headers.get("X-Request-ID", "")
        # Only accept a short, printable id from the client; otherwise make one.
        rid = incoming if 0 < len(incoming) <= 64 and incoming.isprintable() else uuid.uuid4().hex
        g.request_id = rid
    return rid


def _require_json_object():
    """Reject bodies that are not a JSON object before any view sees them.

    webargs would otherwise ignore a non-JSON content type (and report
    "missing field") or answer 422 for a JSON array; SPEC wants 400
    ``invalid_json`` for "not JSON / not an object".
    """
    if request.method not in ("POST", "PUT", "PATCH"):
        return None
    if not request.content_length and not request.data:
        return None
    if not request.is_json:
        return error_response(400, "invalid_json",
                              "The request body must be JSON (Content-Type: application/json).")
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        return error_response(400, "invalid_json", "The request body must be a JSON object.")
    return None


def register_error_handlers(app: Flask) -> None:
    """Make every error of ``app`` JSON; call after the Api is bound."""

    @app.before_request
    def _assign_request_id_and_check_body():
        _request_id()
        return _require_json_object()

    @app.after_request
    def _echo_request_id(resp):
        resp.headers.setdefault("X-Request-ID", _request_id())
        return resp

    @app.errorhandler(APIError)
    def _api_error(exc: APIError):
        return error_response(exc.status, exc.code, exc.message, exc.details, exc.headers)

    @app.errorhandler(HTTPException)
    def _http_error(exc: HTTPException):
        return _from_http_exception(exc)

    @app.errorhandler(Exception)
    def _unhandled(exc: Exception):
        # Logged with the request id so an operator can find it; the client
        # only gets the id, never the traceback.
        rid = _request_id()
        log.exception("unhandled error (request_id=%s) on %s %s", rid, request.method, request.path)
        return error_response(500, "internal_error", DEFAULT_MESSAGES[500], {"request_id": rid})
