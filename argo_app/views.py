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

from httpkit.errors import APIError
from httpkit.parsing import Blueprint
from httpkit.schemas import SignalSchema

from .schemas import LatestQuerySchema

blp = Blueprint("signals", __name__, url_prefix="/api/signals", description="Trading signals, newest first")

_SHA256 = re.compile(r"^[0-9a-f]{64}$")


@blp.route("/latest")
# webargs defaults query strings to EXCLUDE; unknown params are rejected (422).
@blp.arguments(LatestQuerySchema(), location="query", as_kwargs=True, unknown=ma.RAISE)
@blp.response(200, SignalSchema(many=True))
def latest(limit, offset, premium_only, symbol, min_confidence):
    """Newest signals first, filtered and paged in one SQL query.

    premium_only returns only signals with confidence >= 95 (exactly `limit`
    of them whenever that many exist). Sends an `ETag`; `If-None-Match` with
    the current one is answered 304 without a body (cheap polling).
    """
    store = current_app.extensions["argo_store"]

    def render() -> tuple[bytes, str]:
        payloads = store.latest_payloads(
            limit=limit,
            offset=offset,
            premium_only=premium_only,
            symbol=symbol,
            min_confidence=min_confidence,
        )
        body = ("[" + ",".join(payloads) + "]").encode()
        # A strong tag of the body itself: any change to what this URL returns
        # (an insert, a row altered in place) changes it.
        return body, '"' + hashlib.blake2b(body, digest_size=12).hexdigest() + '"'

    # Re-rendered only after a commit (from any process): the steady state is
    # one PRAGMA, no query, no join, no hashing.
    body, etag = store.rendered(("latest", limit, offset, premium_only, symbol, min_confidence), render)
    if request.if_none_match.contains_weak(etag.strip('"')):
        return Response(status=304, headers={"ETag": etag})
    return Response(body, mimetype="application/json", headers={"ETag": etag})


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
