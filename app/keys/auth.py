"""A request that presents an API key acts as the key's owner.

The key travels as ``Authorization: Bearer alp_...`` or ``X-API-Key: alp_...``.
An app-level ``before_request`` hook (it runs before every blueprint hook and
view) does the key's own checks and then hands the request to the ordinary
JWT path, so everything a JWT request gets -- tier, the shared daily quota,
deactivation on the very next request, revocation across workers, request
metrics -- a key request gets the same way, through the same auth step
(app/accounts/request_auth.py: process memory, Redis when it does not know):

1. the key is found (per-process facts, else one indexed SELECT by prefix) and
   its SHA-256 compared in constant time: else 401 ``token_invalid``;
2. the route must be inside the key's scopes: else 403 ``forbidden``
   (``signals:read``: the feed; ``account:read``: ``GET /api/users/me*``;
   nothing else -- key management, profile changes and admin need a login);
3. the request's ``Authorization`` becomes ``Bearer <internal access token>``:
   a JWT this process minted for the key's session (``sub`` the owner, ``sid``
   ``apikey:<id>``, claim ``akid`` the key id) and re-uses until shortly
   before it expires. It never leaves the server: it exists only in this
   request's WSGI environ. app/accounts/request_auth.py then checks it like
   any access token: the session's revocation (the key's, see service.py),
   the owner's user record (403 ``inactive_user``) and quota.

A key is not bound to its owner's password (bots keep running after a
password change); request_auth.py skips the token-version check for the
internal token of the key this request presented (``is_key_claims``) and
answers a revoked key with 401 ``token_invalid``.
"""

from __future__ import annotations

import threading
import time
from datetime import timedelta

from flask import Flask, Response, current_app, has_request_context, request
from flask_jwt_extended import create_access_token
from prometheus_client import Counter
from prometheus_client.metrics import Counter as CounterChild

from app.keys import keygen, service, usage
from httpkit.errors import APIError

KEY_CLAIM = "akid"
KEY_ATTR = "alpine.api_key"  # the request's KeyFacts, in the WSGI environ
API_PREFIX = "/api/"
# The internal token's ``tv``: no user ever has it (versions start at 1 and grow).
NO_TOKEN_VERSION = -1
# Re-mint the internal token when less than this is left of its life.
REMINT_MARGIN_SECONDS = 60

KEY_REQUESTS = Counter(
    "alpine_api_key_requests_total",
    "Requests that presented an API key, by outcome (accepted, invalid, forbidden). No key id: bounded labels.",
    ["result"],
)

# Children looked up once (prometheus_client handles the fork in multiprocess mode).
_ACCEPTED, _INVALID, _FORBIDDEN = (KEY_REQUESTS.labels(r) for r in ("accepted", "invalid", "forbidden"))


def is_key_claims(jwt_data: dict) -> bool:
    """True for the internal token of the API key *this request* presented.

    The internal token never leaves the server; should one be presented
    directly anyway (a leak), it is not this request's key: it then gets no
    exemption and is refused (its ``tv`` matches no user's token version).
    """
    facts = request.environ.get(KEY_ATTR) if has_request_context() else None
    return facts is not None and jwt_data.get(KEY_CLAIM) == facts.id


def presented_key() -> str | None:
    """The API key this request presents, if any (Authorization first, then X-API-Key)."""
    auth = request.headers.get("Authorization", "")
    scheme, _, credential = auth.strip().partition(" ")
    if scheme.lower() == "bearer" and keygen.looks_like_key(credential.strip()):
        return credential.strip()
    if auth:
        return None  # a JWT (or anything else) in Authorization wins over X-API-Key
    header = request.headers.get("X-API-Key")
    return header.strip() if header is not None else None


def required_scope() -> str | None:
    """The scope this route needs from a key; None: keys are not accepted here."""
    rule = request.url_rule
    if request.blueprint == "signals":
        return service.SIGNALS_READ
    if (
        rule is not None
        and request.method in ("GET", "HEAD")
        and (rule.rule == "/api/users/me" or rule.rule.startswith("/api/users/me/"))
    ):
        return service.ACCOUNT_READ
    return None


def _refuse(status: int, code: str, message: str, result: CounterChild) -> APIError:
    result.inc()
    headers = {"WWW-Authenticate": f'Bearer error="{code}"'} if status == 401 else None
    return APIError(status, code, message, headers=headers)


class _Minted:
    """Per-process internal access tokens, one per key: key id -> (token, exp)."""

    def __init__(self) -> None:
        self.data: dict[int, tuple[str, float]] = {}
        self.lock = threading.Lock()

    def token_for(self, facts: service.KeyFacts) -> str:
        now = time.time()
        with self.lock:
            hit = self.data.get(facts.id)
        if hit is not None and hit[1] - now > REMINT_MARGIN_SECONDS:
            return hit[0]
        seconds = int(current_app.config["JWT_ACCESS_TOKEN_SECONDS"])
        claims = {
            "sid": service.session_id(facts.id),
            "sx": service.KEY_SESSION_END,
            "tv": NO_TOKEN_VERSION,
            KEY_CLAIM: facts.id,
        }
        token = create_access_token(
            identity=str(facts.user_id), additional_claims=claims, expires_delta=timedelta(seconds=seconds)
        )
        with self.lock:
            if len(self.data) >= service.FACTS_MAX:
                self.data.clear()  # bounded; re-minting is cheap
            self.data[facts.id] = (token, now + seconds)
        return token


def _minted() -> _Minted:
    ext = current_app.extensions
    minted = ext.get("api_key_minted")
    if minted is None:
        minted = ext.setdefault("api_key_minted", _Minted())
    return minted


def authenticate_key() -> None:
    """``before_request``: turn a presented API key into its owner's internal access token."""
    if request.method == "OPTIONS" or not request.path.startswith(API_PREFIX) or request.url_rule is None:
        return None  # unknown routes and methods keep their 404/405
    key = presented_key()
    if key is None:
        return None
    facts = service.find(key)
    if facts is None:
        raise _refuse(401, "token_invalid", "The API key is invalid or has been revoked.", _INVALID)
    scope = required_scope()
    if scope is None or scope not in facts.scopes:
        raise _refuse(
            403,
            "forbidden",
            "This API key may not be used here: "
            + (f"it lacks the '{scope}' scope." if scope else "this endpoint needs a login."),
            _FORBIDDEN,
        )
    request.environ[KEY_ATTR] = facts
    request.environ["HTTP_AUTHORIZATION"] = f"Bearer {_minted().token_for(facts)}"
    return None


def count_key_request(response: Response) -> Response:
    """``after_request``: count a request the key was accepted for (per key, per UTC day)."""
    facts = request.environ.get(KEY_ATTR)
    if facts is None:
        return response
    if response.status_code == 401:  # revoked: refused by the revocation check
        _INVALID.inc()
    else:
        _ACCEPTED.inc()
        usage.record(facts.id)
    return response


def init_app(app: Flask) -> None:
    app.before_request(authenticate_key)
    app.after_request(count_key_request)
