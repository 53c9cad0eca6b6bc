"""JWTs: issuing them, revoking them (logout), and checking revocation.

Claims (besides flask-jwt-extended's own ``sub``/``jti``/``type``/``exp``...):

* ``sub`` = ``str(user.id)`` (PyJWT >= 2.10 wants a string subject);
* ``sid`` = the login session: the access and refresh tokens of one login,
  and every access token later minted from that refresh token, share it;
* ``sx``  = the session's end (the refresh token's ``exp``); no token of the
  session outlives it, so a revocation row is useless after it;
* ``tv``  = the user's ``token_version`` at login; a password change bumps the
  version and every older token is refused (token_revoked).

Revocation design (SQL is the source of truth, Redis a cache of it)
-------------------------------------------------------------------
Logout revokes the whole session: one ``revoked_tokens`` row per ``sid``
(expires_at = ``sx``), committed *first*; then Redis ``alpine:rv:<sid> = 1``
with a TTL equal to the session's remaining life.

Each authenticated request reads ``alpine:rv:<sid>`` inside the one auth
pipeline (app/accounts/request_auth.py):

* ``"1"`` -> revoked;
* ``"0"`` -> known not revoked (a *negative* entry, TTL ``REVOCATION_NEGATIVE_TTL``
  = 60 s, never longer than the session);
* missing (first request of the session in this window, or Redis was flushed
  or restarted) -> ask SQL (one indexed lookup by sid), then cache the answer;
* Redis unreachable -> ask SQL every time.

So after a FLUSHDB or a Redis restart nothing is forgotten: a missing key
always falls through to SQL. The negative entry is written with ``SET NX``:
if a logout's ``"1"`` landed first the stale ``"0"`` cannot overwrite it, and
if the ``"0"`` landed first the logout's plain ``SET`` overwrites it. The one
window left: a logout that could not reach Redis while Redis kept an older
``"0"`` -- that login stays usable for at most the negative TTL (60 s); the
failed ``SET`` is also queued and replayed by that process's next pipeline.
Cost in steady state: zero extra round trips (the read rides on the pipeline)
and one SQL query per session per minute.
"""

from __future__ import annotations

import time
import uuid
from datetime import UTC, datetime, timedelta

from flask import current_app
from flask_jwt_extended import create_access_token, create_refresh_token
from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError

from app.accounts import auth_invalidation
from app.accounts.security_models import RevokedToken
from app.core import redis_guard
from app.core.database import rows_affected
from app.extensions import db

REVOKED, NOT_REVOKED = b"1", b"0"


def rv_key(sid: str) -> str:
    return f"alpine:rv:{sid}"


def _access_seconds() -> int:
    return int(current_app.config["JWT_ACCESS_TOKEN_SECONDS"])


def issue_tokens(user) -> dict:
    """A new login session for ``user`` (ORM User or CurrentUser): both tokens."""
    sid = uuid.uuid4().hex
    refresh_seconds = int(current_app.config["JWT_REFRESH_TOKEN_SECONDS"])
    session_end = int(time.time()) + refresh_seconds
    claims = {"sid": sid, "sx": session_end, "tv": int(user.token_version)}
    identity = str(user.id)
    return {
        "access_token": create_access_token(identity=identity, additional_claims=claims),
        "refresh_token": create_refresh_token(
            identity=identity, additional_claims=claims, expires_delta=timedelta(seconds=refresh_seconds)
        ),
        "token_type": "bearer",
        "expires_in": _access_seconds(),
    }


def refresh_access(jwt_data: dict) -> dict:
    """A new access token for the session of a (verified) refresh token; never past ``sx``."""
    remaining = int(jwt_data["sx"]) - int(time.time())
    seconds = max(1, min(_access_seconds(), remaining))
    claims = {"sid": jwt_data["sid"], "sx": int(jwt_data["sx"]), "tv": int(jwt_data["tv"])}
    token = create_access_token(
        identity=jwt_data["sub"], additional_claims=claims, expires_delta=timedelta(seconds=seconds)
    )
    return {"access_token": token, "expires_in": seconds}


def remaining_seconds(jwt_data: dict) -> int:
    return max(1, int(jwt_data["sx"]) - int(time.time()))


def revoke_session(jwt_data: dict, user_id: int | None) -> None:
    """Logout: SQL row first (durable), then the Redis cache entry."""
    sid = jwt_data["sid"]
    expires_at = datetime.fromtimestamp(int(jwt_data["sx"]), tz=UTC)
    db.session.add(RevokedToken(sid=sid, jti=jwt_data.get("jti"), user_id=user_id, expires_at=expires_at))
    try:
        db.session.commit()
    except IntegrityError:  # a concurrent logout of the same session got there first
        db.session.rollback()
    redis_guard.write(rv_key(sid), "set", REVOKED, remaining_seconds(jwt_data))
    auth_invalidation.publish("s", sid)  # every process's in-memory copy (local_auth.py)


def revoked_in_db(sid: str) -> bool:
    return (
        db.session.execute(select(RevokedToken.id).where(RevokedToken.sid == sid).limit(1)).first()
        is not None
    )


def negative_ttl(jwt_data: dict) -> int:
    return max(
        1, min(int(current_app.config.get("REVOCATION_NEGATIVE_TTL", 60)), remaining_seconds(jwt_data))
    )


def prune_expired(now: datetime | None = None) -> int:
    """Delete revocations whose session has ended (its tokens are expired anyway)."""
    now = now or datetime.now(UTC)
    result = db.session.execute(delete(RevokedToken).where(RevokedToken.expires_at <= now))
    db.session.commit()
    return rows_affected(result)
