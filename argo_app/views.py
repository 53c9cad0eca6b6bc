"""The signals blueprint: /api/signals/latest and /api/signals/<sha256>.

The hot path does no per-request serialisation: the store returns each row's
stored JSON text and the view joins them into an array -- and while the
database is unchanged, not even that: the store memoises the rendered body and
its ETag per connection and revalidates them with one pragma per request.
"""

from __future__ import annotations

import hashlib
import re

import marshmallow as ma
from flask import Response, current_app, request

from httpkit import security
from httpkit.doc_only import doc_only
from httpkit.errors import APIError
from httpkit.parsing import Blueprint
from httpkit.schemas import SignalSchema

from .schemas import LatestQuerySchema

blp = Blueprint("signals", __name__, url_prefix="/api/signals", description="Trading signals, newest first")

_SHA256 = re.compile(r"^[0-9a-f]{64}$")
# The security headers httpkit/security.py's after_request hook would add to
# an API response, set when the response is built: the hook then finds them
# and leaves it alone (its documented contract), which saves extending the
# headers a second time on the hottest endpoint. tests/argo/test_memo.py
# checks latest's headers equal those the hook gives any other API response.
API_HEADERS = (*security.STATIC_HEADERS, ("Content-Security-Policy", security.API_CSP))


# The query's schema: parsed by the blueprint's (memoising) parser in the view,
# documented below. An instance, so the parser's memo keys on one object.
LATEST_QUERY = LatestQuerySchema()
# webargs defaults query strings to EXCLUDE; unknown params are rejected (422).
LATEST_PARSE_ARGS = {"location": "query", "unknown": ma.RAISE}


@blp.route("/latest")
# Documented by flask-smorest's decorators, none of which runs per request
# (httpkit/doc_only.py, as Alpine's feed): their wrappers -- webargs' use_args,
# the argument injection, the response unpacking -- were ~15% of this
# endpoint's CPU for nothing (the view parses its query itself and returns a
# ready Response). tests/argo/test_api.py checks the document is the same.
@doc_only(
    blp.arguments(LATEST_QUERY, **LATEST_PARSE_ARGS),
    blp.response(200, SignalSchema(many=True)),
)
def latest():
    """Newest signals first, filtered and paged in one SQL query.

    premium_only returns only signals with confidence >= 95 (exactly `limit`
    of them whenever that many exist). Sends an `ETag`; `If-None-Match` with
    the current one is answered 304 without a body (cheap polling).
    """
    # Raises the same 422 (and envelope) as @blp.arguments would: the same parser call.
    store = current_app.extensions["argo_store"]

    def render() -> tuple[bytes, str]:
        # Raises the same 422 (and envelope) as @blp.arguments would: the same
        # parser call. A query that fails is never memoised.
        args = blp.ARGUMENTS_PARSER.parse(LATEST_QUERY, request, **LATEST_PARSE_ARGS)
        payloads = store.latest_payloads(
            limit=args["limit"],
            offset=args["offset"],
            premium_only=args["premium_only"],
            symbol=args["symbol"],
            min_confidence=args["min_confidence"],
        )
        body = ("[" + ",".join(payloads) + "]").encode()
        # A strong tag of the body itself: any change to what this URL returns
        # (an insert, a row altered in place) changes it.
        return body, '"' + hashlib.blake2b(body, digest_size=12).hexdigest() + '"'

    # The answer is a function of the raw query string and the data only, so
    # the memo keys on the raw string: until the next commit (from any
    # process), a repeated query costs one PRAGMA -- no parsing, no query, no
    # join, no hashing.
    body, etag = store.rendered(("latest", request.query_string), render)
    if "HTTP_IF_NONE_MATCH" in request.environ and request.if_none_match.contains_weak(etag.strip('"')):
        return Response(status=304, headers=[("ETag", etag), *API_HEADERS])
    return Response(body, mimetype="application/json", headers=[("ETag", etag), *API_HEADERS])


@blp.route("/<string:sha256>")
@blp.response(200, SignalSchema)
@blp.alt_response(404, description="No signal with this hash")
def by_hash(sha256):
    """One signal by its sha256 (64 lower-case hex characters)."""
    sha256 = sha256.lower()
    payload = current_app.extensions["argo_store"].get_payload(sha256) if _SHA256.match(sha256) else None
    if payload is None:
        raise APIError(404, "not_found", "No signal with this sha256.", {"sha256": sha256[:64]})
    return Response(payload, mimetype="application/json")
