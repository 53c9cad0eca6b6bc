"""The one place Alpine touches a private part of flask-jwt-extended.

A JWTManager that remembers tokens it has already verified, and the headers
of tokens it has just verified.

Verifying an HS256 JWT costs 100-250 us here: PyJWT checks base64 segments
character by character and flask-jwt-extended decodes every token twice
(unverified claims for the key callback, then verified). A client sends the
same access token on every request for its 15 minutes, so once a token has
passed full verification its claims are kept (per app, per process, bounded
LRU of ``JWT_VERIFIED_CACHE_SIZE`` entries) and reused while unexpired.

Only signature/format work is skipped: ``exp`` is re-checked on every use
(an expired hit falls through to the full decode, which raises the proper
ExpiredSignatureError), and revocation, token version and user state are
still checked on every request by app/accounts/request_auth.py. The key is the
SHA-256 digest of the whole token string (the token itself is never kept), so
a tampered token is a miss and is verified in full; the cache lives in
``app.extensions`` so another app (another secret) never sees it.

Why a private method: flask-jwt-extended has no public hook around decoding
(``decode_key_loader`` only chooses the key; verification still runs). Every
decode of the library -- ``verify_jwt_in_request`` and ``decode_token`` --
goes through ``JWTManager._decode_jwt_from_config(encoded_token, csrf_value,
allow_expired)``, so that one method is overridden here and nowhere else.
tests/accounts/test_jwt_adapter.py fails if the method disappears, changes
its parameters, or stops being the path ``verify_jwt_in_request`` takes; on
such an upgrade, fix this module (or drop the cache: the library's own path
is always correct, just slower).

The header. Right after verifying a token, ``verify_jwt_in_request`` reads
its header again with ``get_unverified_jwt_headers`` (PyJWT's
``get_unverified_header``: base64 of all three segments and a JSON parse,
~10% of a /me request under load). A JWT's header is its first segment, and
every token Alpine issues has the same one. ``init_app`` points the name
``flask_jwt_extended.view_decorators`` calls at a memo keyed by that segment
(at most 64 of them; longer than 256 characters: not memoised). Safe only
because that call comes right after the full verification of the same token,
so the rest of it is known to be valid; the test checks that order in the
library's source, and that the name still exists.
"""

from __future__ import annotations

import hashlib
import threading
import time
from collections import OrderedDict

from flask import current_app
from flask_jwt_extended import JWTManager, view_decorators
from flask_jwt_extended.utils import get_unverified_jwt_headers

HEADERS_MAX = 64
HEADER_SEGMENT_MAX = 256
_headers: dict[str, dict] = {}


def known_headers(encoded_token: str) -> dict:
    """``get_unverified_jwt_headers`` for a token verified a moment ago (see the docstring)."""
    segment, dot, _ = encoded_token.partition(".")
    if not dot or len(segment) > HEADER_SEGMENT_MAX:
        return get_unverified_jwt_headers(encoded_token)
    hit = _headers.get(segment)
    if hit is None:
        hit = get_unverified_jwt_headers(encoded_token)
        if len(_headers) < HEADERS_MAX:
            _headers[segment] = dict(hit)
    return dict(hit)


class _Verified:
    def __init__(self, size: int) -> None:
        self.size = size
        self.data: OrderedDict[bytes, dict] = OrderedDict()
        self.lock = threading.Lock()


class CachingJWTManager(JWTManager):
    def init_app(self, app, add_context_processor: bool = False) -> None:
        super().init_app(app, add_context_processor)
        view_decorators.get_unverified_jwt_headers = known_headers

    def _cache(self) -> _Verified | None:
        ext = current_app.extensions
        cache = ext.get("jwt_verified")
        if cache is None:
            size = int(current_app.config.get("JWT_VERIFIED_CACHE_SIZE", 4096))
            cache = ext.setdefault("jwt_verified", _Verified(size))
        return cache if cache.size > 0 else None

    def _decode_jwt_from_config(self, encoded_token, csrf_value=None, allow_expired=False):
        cache = self._cache() if (csrf_value is None and not allow_expired) else None
        key = hashlib.sha256(encoded_token.encode()).digest() if cache is not None else b""
        if cache is not None:
            with cache.lock:
                hit = cache.data.get(key)
                if hit is not None:
                    cache.data.move_to_end(key)
            if hit is not None and hit.get("exp", 0) > time.time():
                return dict(hit)
        data = super()._decode_jwt_from_config(encoded_token, csrf_value, allow_expired)
        if cache is not None and "exp" in data:
            with cache.lock:
                cache.data[key] = dict(data)
                while len(cache.data) > cache.size:
                    cache.data.popitem(last=False)
        return data
