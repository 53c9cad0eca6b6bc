"""webargs' parser, stricter about what a request may carry.

Bodies: JSON objects only, UTF-8, not nested without end, within the size
limit (400 ``invalid_json`` / 413 otherwise); query strings: no parameter
given twice unless its field is a list. Neither may hold text no database can
store (422). Used by both services' blueprints (httpkit/errors.py Blueprint).
"""

from __future__ import annotations

from typing import Any, NoReturn

import marshmallow as ma
from flask import Request
from webargs.flaskparser import FlaskParser

from httpkit.envelope import DEFAULT_MESSAGES, APIError


class JSONObjectParser(FlaskParser):
    """webargs' parser, stricter about bodies.

    webargs would ignore a non-JSON content type (and report "missing field")
    and answer 422 for a JSON array; the API answers 400 ``invalid_json`` for
    "not JSON / not an object". Doing it here, at argument parsing, keeps it after
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

    # The one underscore name touched here: webargs' framework parsers (its own
    # FlaskParser included) override this hook to turn undecodable JSON into
    # their framework's error; it is the subclass extension point for exactly
    # that. If webargs renames it, malformed bodies fall back to webargs' 400
    # without our envelope, and tests/test_errors.py and the hostile-input tests
    # (which send malformed JSON and expect `invalid_json`) fail.
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
