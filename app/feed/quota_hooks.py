"""The feed's quota hooks, registered on the signals blueprint: only feed requests pay.

The slot itself is taken atomically by the auth step (app/accounts/request_auth.py:
one Redis script, or inside its pipeline when that runs anyway); these hooks refuse a request over its tier's daily
limit, give the slot back when the answer is not a 2xx, and tell the client what
is left (``X-RateLimit-*``).
"""

from __future__ import annotations

from flask import Response, request
from flask_jwt_extended import current_user, verify_jwt_in_request

from app.accounts import request_auth
from app.feed import quotas
from httpkit.errors import APIError

# (limit, count) for this request, in the WSGI environ like the auth state.
QUOTA_ATTR = "alpine.quota"


def quota_hook() -> None:
    if request.method == "OPTIONS":
        return None
    request_auth.count_quota_on_this_request()
    try:
        verify_jwt_in_request()
    except Exception:
        request_auth.undo_quota(request_auth.auth_state())
        raise
    state = request_auth.auth_state()
    assert state is not None  # verify_jwt_in_request ran resolve()
    limit = quotas.limit_for(current_user.tier)
    request.environ[QUOTA_ATTR] = (limit, state.quota_count)
    if state.quota_count > limit:
        raise APIError(
            429,
            "quota_exceeded",
            f"Daily feed quota of {limit} requests for the {current_user.tier} tier "
            "is used up; it resets at midnight UTC.",
            details={"limit": limit, "tier": current_user.tier},
            headers={"Retry-After": str(quotas.seconds_until_utc_midnight())},
        )
    return None


def quota_headers(response: Response) -> Response:
    """Only an answered feed request (2xx) uses the quota.

    The slot is taken atomically up front (the INCR in the auth step), so
    concurrent requests can never exceed the quota; a request that ends in
    anything but a 2xx (bad parameters, tier_required, quota_exceeded, a 5xx)
    gives its slot back here: one more Redis call, on those responses only.
    """
    quota = request.environ.get(QUOTA_ATTR)
    if quota is not None:
        limit, count = quota
        if not 200 <= response.status_code < 300:
            state = request_auth.auth_state()
            if state is not None and state.quota_count:
                request_auth.undo_quota(state)
                count -= 1  # Remaining as it was before this request
        response.headers["X-RateLimit-Limit"] = str(limit)
        response.headers["X-RateLimit-Remaining"] = str(max(0, limit - count))
    return response
