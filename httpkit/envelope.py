"""The JSON error envelope both services speak, and the exception that asks for it.

Every error, from every endpoint of Argo and Alpine, is
``{"error": {"code": <snake_case>, "message": <sentence>, "details": {...}}}`` —
never HTML, never a stack trace. Raise :class:`APIError` anywhere in a request;
the handlers in httpkit/errors.py answer with :func:`error_response`.
"""

from __future__ import annotations

from flask import Response, jsonify

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
