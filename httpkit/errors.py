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
from typing import Any, NoReturn

import flask_smorest
import marshmallow as ma
from flask import Flask, Request, Response, jsonify, request
from webargs.flaskparser import FlaskParser
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

    def __init__(
        self, status: int, code: str, message: str, details: dict | None = None, headers: dict | None = None
    ):
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.details = details or {}
        self.headers = headers or {}


def error_response(
    status: int, code: str, message: str, details: dict | None = None, headers: dict | None = None
) -> Response:
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
    if status == 422:
        return error_response(
            422,
            "validation_error",
            data.get("message") or DEFAULT_MESSAGES[422],
            details=messages or {},
            headers=headers,
        )
    valid_methods = getattr(exc, "valid_methods", None)  # MethodNotAllowed's, when it has them
    if status == 405 and valid_methods:
        headers.setdefault("Allow", ", ".join(valid_methods))
    message = data.get("message") or DEFAULT_MESSAGES.get(status) or (exc.description or exc.name)
    return error_response(
        status,
        DEFAULT_CODES.get(status, exc.name.lower().replace(" ", "_")),
        message,
        details=messages or {},
        headers=headers,
    )


class Api(flask_smorest.Api):
    """flask-smorest's Api, answering its errors with our envelope."""

    ERROR_SCHEMA = ErrorSchema

    def handle_http_exception(self, error: HTTPException) -> Response:  # noqa: D401 - flask-smorest hook
        return _from_http_exception(error)


def _request_id() -> str:
    """The id that ties a 500 to its log line: the client's, if sane, else a new one.

    Made only when an error needs it: a hook on every request to assign and
    echo one cost ~30 us, a tenth of a bare endpoint, for nothing on success.
    """
    incoming = request.headers.get("X-Request-ID", "")
    return incoming if 0 < len(incoming) <= 64 and incoming.isprintable() else uuid.uuid4().hex


class JSONObjectParser(FlaskParser):
    """webargs' parser, stricter about bodies.

    webargs would ignore a non-JSON content type (and report "missing field")
    and answer 422 for a JSON array; SPEC wants 400 ``invalid_json`` for "not
    JSON / not an object". Doing it here, at argument parsing, keeps it after
    any permission check a view or blueprint runs first.
    """

    def load_json(self, req: Request, schema: ma.Schema) -> Any:
        data = req.get_data(cache=True)
        if not data:
            if req.is_json:
                # Announced JSON, sent nothing: that is not a JSON object (webargs
                # would report each required field as missing, a 422).
                raise APIError(400, "invalid_json", "The request body is empty; send a JSON object.")
            return super().load_json(req, schema)  # no body at all: fields are missing (422)
        limit = req.max_content_length
        if req.content_length is None and limit is not None and len(data) >= limit:
            # A chunked body is cut off at the limit by werkzeug, silently; refuse it.
            raise APIError(413, "payload_too_large", DEFAULT_MESSAGES[413])
        if not req.is_json:
            raise APIError(
                400, "invalid_json", "The request body must be JSON (Content-Type: application/json)."
            )
        try:
            data.decode("utf-8")  # RFC 8259: JSON between systems is UTF-8 (no UTF-16, no junk)
        except UnicodeDecodeError:
            raise APIError(400, "invalid_json", "The request body is not UTF-8.") from None
        try:
            body = req.get_json(silent=True)
        except RecursionError:  # e.g. 10,000 nested '[': not ValueError, so not "silent"
            raise APIError(400, "invalid_json", "The request body is nested too deeply.") from None
        if not isinstance(body, dict):
            raise APIError(400, "invalid_json", "The request body must be a JSON object.")
        _reject_unstorable_text(body, "json")
        return body

    def load_querystring(self, req: Request, schema: ma.Schema) -> Any:
        check_query_string(req, schema)
        return super().load_querystring(req, schema)

    def _handle_invalid_json_error(
        self, error: Exception, req: Request, *args: Any, **kwargs: Any
    ) -> NoReturn:
        raise APIError(400, "invalid_json", "The request body is not valid JSON.")


def check_query_string(req: Request, schema: ma.Schema) -> None:
    """422 for a parameter given twice (?per_page=5&per_page=500: ambiguous, a proxy
    may act on one value and we on the other) unless its field is a list, and for
    text no database can store. (Argo's memoising parser inherits this; a memo hit
    is a query string that passed it before.)"""
    multiple = {name for name, field in schema.fields.items() if isinstance(field, ma.fields.List)}
    repeated = {
        key: ["Given more than once."]
        for key, values in req.args.lists()
        if len(values) > 1 and key not in multiple
    }
    if repeated:
        raise APIError(422, "validation_error", DEFAULT_MESSAGES[422], {"query": repeated})
    _reject_unstorable_text(req.args.to_dict(flat=True), "query")


def _reject_unstorable_text(data: dict, location: str) -> None:
    """422 for a string no database can store: a NUL character (PostgreSQL text
    cannot hold one; psycopg2 raises ValueError) or a lone surrogate such as the
    JSON escape "\\ud800" (not encodable as UTF-8). Either would be a 500 later."""
    bad = {
        _safe_key(key): ["Must be text without NUL characters or lone surrogates."]
        for key, value in data.items()
        if _bad_text(key) or _bad_text(value)
    }
    if bad:
        raise APIError(422, "validation_error", DEFAULT_MESSAGES[422], {location: bad})


def _safe_key(key: object) -> str:
    key = str(key)
    return key.encode("utf-8", "backslashreplace").decode("utf-8").replace("\x00", "\\x00")


def _bad_text(value: object, depth: int = 0) -> bool:
    if isinstance(value, str):
        if "\x00" in value:
            return True
        if value.isascii():
            return False
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            return True
        return False
    if depth > 32:  # deeper than any schema of ours; validation rejects it anyway
        return False
    if isinstance(value, dict):
        return any(_bad_text(k) or _bad_text(v, depth + 1) for k, v in value.items())
    if isinstance(value, list):
        return any(_bad_text(v, depth + 1) for v in value)
    return False


class Blueprint(flask_smorest.Blueprint):
    """Use this instead of ``flask_smorest.Blueprint`` in both services."""

    ARGUMENTS_PARSER = JSONObjectParser()


def register_error_handlers(app: Flask) -> None:
    """Make every error of ``app`` JSON; call after the Api is bound."""

    @app.errorhandler(APIError)
    def _api_error(exc: APIError) -> Response:
        return error_response(exc.status, exc.code, exc.message, exc.details, exc.headers)

    @app.errorhandler(HTTPException)
    def _http_error(exc: HTTPException) -> Response:
        return _from_http_exception(exc)

    app.register_error_handler(Exception, internal_error_response)


def internal_error_response(exc: BaseException) -> Response:
    """500 for a bug: logged with the request id, never a traceback to the client."""
    rid = _request_id()
    log.error("unhandled error (request_id=%s) on %s %s", rid, request.method, request.path, exc_info=exc)
    return error_response(
        500, "internal_error", DEFAULT_MESSAGES[500], {"request_id": rid}, headers={"X-Request-ID": rid}
    )
