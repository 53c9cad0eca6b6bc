"""The cached current user: public fields only, keyed by user id, 300 s.

Storage goes through Flask-Caching (``app.extensions.cache``, RedisCache):
key ``user:<id>`` under its ``CACHE_KEY_PREFIX`` ("alpine:"), value the plain
dict of public fields (+ token_version) serialised as JSON by the cache
backend (app/core/json_cache.py: Redis is never trusted with a pickle). When
the process's memory (app/accounts/local_auth.py) does not know the user, the
read is folded into the auth pipeline (app/accounts/request_auth.py), which
therefore uses the cache backend's prefix and serializer (``full_key`` /
``dumps`` / ``loads``) on the app's Redis client (same REDIS_URL) so
``cache.get("user:1")`` and the pipeline read see the same entry. Invalidate
with :func:`invalidate` (a plain ``cache.delete`` would not reach the
processes' memories). Never the password hash, never an ORM object
(it would come back detached).

Every writer of a user goes through app/accounts/users.py, which calls
``invalidate(user_id)`` right after its commit.

Why a generation key, and no stale entry survives a write
---------------------------------------------------------
A plain "delete after commit" loses to a reader that missed, read the row
just *before* the writer committed and stores it just *after* the delete:
the old fields (say ``is_active: true``) would live on for the whole TTL.
So each user also has ``alpine:user-gen:<id>``, a random token:

* the writer commits, then sets a fresh token, then deletes ``user:<id>``;
* the reader fetches the entry and the token together (one ``MGET`` in the
  auth pipeline: no extra round trip); on a miss it reads SQL and stores
  the entry with a small Lua script that writes only if the token is still
  the one it saw *before* its SQL read.

A reader whose SQL read predates the commit saw the old token (the writer
sets the new one only after committing), so its store is either refused
(token changed) or lands before the token changed and is then removed by
the writer's delete. (The SQL read starts after the MGET; on PostgreSQL's
READ COMMITTED each statement sees every commit made before it started.)
The token is random (no counter to wrap or to fall
back to a value a reader once saw) and lives far longer than any request.
"""

from __future__ import annotations

import json
import logging
import secrets
from dataclasses import asdict, dataclass
from datetime import datetime
from functools import cached_property

from flask import current_app
from prometheus_client import Counter
from sqlalchemy import select

from app.accounts import auth_invalidation
from app.accounts.models import User
from app.core import redis_guard
from app.extensions import cache, db

log = logging.getLogger(__name__)

USER_CACHE_LOOKUPS = Counter(
    "alpine_user_cache_lookups_total",
    "Current-user lookups by where the user came from: local (this process's memory,"
    " app/accounts/local_auth.py), hit / miss (the Redis user cache), error (Redis unavailable).",
    ["result"],
)
LOCAL_HITS = USER_CACHE_LOOKUPS.labels("local")  # bound once: counted on every steady-state request

# What the cache holds and what current_user exposes. No password hash.
CACHED_COLUMNS = (
    "id",
    "email",
    "full_name",
    "tier",
    "is_active",
    "is_verified",
    "is_admin",
    "created_at",
    "token_version",
)


@dataclass(frozen=True)
class CurrentUser:
    """Immutable view of the authenticated user (``flask_jwt_extended.current_user``)."""

    id: int
    email: str
    full_name: str
    tier: str
    is_active: bool
    is_verified: bool
    is_admin: bool
    created_at: datetime | None
    token_version: int

    @classmethod
    def from_dict(cls, data: dict) -> CurrentUser:
        created = data.get("created_at")
        if isinstance(created, str):
            created = datetime.fromisoformat(created)
        return cls(
            id=int(data["id"]),
            email=data["email"],
            full_name=data["full_name"],
            tier=data["tier"],
            is_active=bool(data["is_active"]),
            is_verified=bool(data["is_verified"]),
            is_admin=bool(data["is_admin"]),
            created_at=created,
            token_version=int(data["token_version"]),
        )

    def public_dict(self) -> dict:
        data = asdict(self)
        data.pop("token_version")
        return data

    def public_json(self) -> str:
        """What ``UserSchema`` dumps for this user, as the JSON body (sorted keys, like
        Flask's jsonify): /me encodes it directly instead of a schema dump per request."""
        return self._public_json

    @cached_property
    def _public_json(self) -> str:
        # Once per user object: the same object serves every request of this user
        # while the process remembers it (app/accounts/local_auth.py).
        data = self.public_dict()
        data["created_at"] = self.created_at.isoformat() if self.created_at is not None else None
        return json.dumps(data, sort_keys=True, separators=(",", ":"))


def cache_key(user_id: int) -> str:
    return f"user:{int(user_id)}"


def enabled() -> bool:
    return bool(current_app.config.get("USER_CACHE_ENABLED", True))


def ttl() -> int:
    return int(current_app.config.get("USER_CACHE_TTL", 300))


def _backend():
    return cache.cache  # flask_caching RedisCache (cachelib): its public ``serializer``


def _prefix() -> str:
    # The same prefix Flask-Caching hands the backend (its documented setting),
    # so cache.get("user:1") and the pipeline's read name the same Redis key.
    return current_app.config.get("CACHE_KEY_PREFIX") or ""


def full_key(user_id: int) -> str:
    return f"{_prefix()}{cache_key(user_id)}"


def gen_key(user_id: int) -> str:
    return f"{_prefix()}user-gen:{int(user_id)}"


# The generation token outlives any request by far: a reader that saw "no
# token" must not see "no token" again because a writer's token expired
# while it was between its SQL read and its store.
GEN_TTL = 24 * 3600

# KEYS: entry, generation. ARGV: value, generation seen before the SQL read
# ("" = none), TTL. Stores only if no writer has committed since.
_FILL_IF_CURRENT = """
local current = redis.call('GET', KEYS[2]) or ''
if current ~= ARGV[2] then return 0 end
redis.call('SET', KEYS[1], ARGV[1], 'EX', tonumber(ARGV[3]))
return 1
"""


def queue_lookup(pipe, user_id: int) -> None:
    """One command, two answers: the entry and the generation it must be stored under."""
    pipe.mget(full_key(user_id), gen_key(user_id))


def queue_fill(pipe, data: dict, generation: bytes | None) -> None:
    """Store ``data`` only if ``generation`` (read before the SQL read) is still current.

    EVAL with the script text, not EVALSHA: redis-py's pipelined scripts add
    a SCRIPT EXISTS round trip; the text is small and Redis caches it.
    """
    uid = data["id"]
    pipe.eval(_FILL_IF_CURRENT, 2, full_key(uid), gen_key(uid), dumps(data), generation or b"", ttl())


def dumps(data: dict) -> bytes:
    return _backend().serializer.dumps(data)


def loads(raw: bytes | None) -> dict | None:
    if raw is None:
        return None
    try:
        value = _backend().serializer.loads(raw)
    except Exception:  # a corrupt entry is a miss, not an error page
        log.warning("unreadable user cache entry; treating as a miss")
        return None
    if not isinstance(value, dict):
        return None
    try:  # valid JSON but not a user (planted, or an older format): a miss, not a 500
        CurrentUser.from_dict(value)
    except (KeyError, TypeError, ValueError):
        log.warning("user cache entry without a user's fields; treating as a miss")
        return None
    return value


def load_from_db(user_id: int) -> dict | None:
    """One SELECT of the public columns only (the hash never leaves the database here)."""
    row = db.session.execute(
        select(*(getattr(User, c) for c in CACHED_COLUMNS)).where(User.id == int(user_id))
    ).one_or_none()
    if row is None:
        return None
    data = dict(zip(CACHED_COLUMNS, row, strict=True))
    data["created_at"] = data["created_at"].isoformat() if data["created_at"] else None
    return data


def store(data: dict, generation: bytes | None) -> None:
    """Fill the cache after a miss; best effort (a failed fill only costs a query later)."""
    redis_guard.run_pipeline(lambda pipe: queue_fill(pipe, data, generation))


def invalidate(user_id: int) -> None:
    """Called by every writer right after its commit: new generation, then delete.

    In that order: a reader's store that checked the old generation has
    already landed and is deleted here; any later one is refused. Always
    attempted (even with the read breaker open); if Redis cannot be reached
    both writes are queued and replayed by this process's next pipeline.
    """
    generation, entry = gen_key(user_id), full_key(user_id)
    token = secrets.token_hex(8).encode()
    try:
        pipe = redis_guard.client().pipeline(transaction=False)  # one round trip, in order
        pipe.set(generation, token, ex=GEN_TTL)
        pipe.delete(entry)
        pipe.execute()
    except redis_guard.REDIS_ERRORS as exc:
        g = redis_guard.guard()
        redis_guard.failed(exc)
        g.pending.add_set(generation, token, GEN_TTL)
        g.pending.add_delete(entry)
    # Then every process's in-memory copy (app/accounts/local_auth.py), acknowledged.
    auth_invalidation.publish("u", str(int(user_id)))
