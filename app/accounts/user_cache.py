"""The cached current user: public fields only, keyed by user id, 300 s.

Storage goes through Flask-Caching (``app.extensions.cache``, RedisCache):
key ``user:<id>`` under its ``CACHE_KEY_PREFIX`` ("alpine:"), value the plain
dict of public fields (+ token_version) serialised by Flask-Caching's own
serializer. The per-request read is folded into the one auth pipeline
(app/accounts/request_auth.py), which therefore uses the cache backend's
prefix and serializer (``full_key`` / ``dumps`` / ``loads``) on the app's
Redis client (same REDIS_URL) so ``cache.get("user:1")`` and the pipeline
read see the same entry, and ``cache.delete("user:1")`` would invalidate it. Never the password hash, never an ORM object
(it would come back detached).

Every writer of a user goes through app/accounts/users.py, which calls
``invalidate(user_id)`` right after its commit.

Known, accepted race: a request that misses, reads the row just before a
writer commits and stores it just after the writer's delete can keep a stale
entry alive until its TTL; it needs a miss for that user within the same few
milliseconds as the write.
"""
from __future__ import annotations

import logging
from dataclasses import asdict, dataclass
from datetime import datetime

from flask import current_app
from prometheus_client import Counter
from sqlalchemy import select

from app.extensions import cache, db
from app.accounts.models import User
from app.core import redis_guard

log = logging.getLogger(__name__)

USER_CACHE_LOOKUPS = Counter(
    "alpine_user_cache_lookups_total",
    "Current-user lookups by result of the Redis user cache (hit, miss, error = Redis unavailable).",
    ["result"],
)

# What the cache holds and what current_user exposes. No password hash.
CACHED_COLUMNS = ("id", "email", "full_name", "tier", "is_active", "is_verified", "is_admin",
                  "created_at", "token_version")


@dataclass(frozen=True, slots=True)
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
        return cls(id=int(data["id"]), email=data["email"], full_name=data["full_name"],
                   tier=data["tier"], is_active=bool(data["is_active"]),
                   is_verified=bool(data["is_verified"]), is_admin=bool(data["is_admin"]),
                   created_at=created, token_version=int(data["token_version"]))

    def public_dict(self) -> dict:
        data = asdict(self)
        data.pop("token_version")
        return data


def cache_key(user_id: int) -> str:
    return f"user:{int(user_id)}"


def enabled() -> bool:
    return bool(current_app.config.get("USER_CACHE_ENABLED", True))


def ttl() -> int:
    return int(current_app.config.get("USER_CACHE_TTL", 300))


def _backend():
    return cache.cache  # flask_caching RedisCache (cachelib): serializer + key prefix


def full_key(user_id: int) -> str:
    return f"{_backend()._get_prefix()}{cache_key(user_id)}"


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
    return value if isinstance(value, dict) else None


def load_from_db(user_id: int) -> dict | None:
    """One SELECT of the public columns only (the hash never leaves the database here)."""
    row = db.session.execute(
        select(*(getattr(User, c) for c in CACHED_COLUMNS)).where(User.id == int(user_id))
    ).one_or_none()
    if row is None:
        return None
    data = dict(zip(CACHED_COLUMNS, row))
    data["created_at"] = data["created_at"].isoformat() if data["created_at"] else None
    return data


def get_user(user_id: int) -> CurrentUser | None:
    """Standalone lookup (cache, then database) for code outside the request pipeline."""
    data = None
    if enabled() and redis_guard.guard().breaker.available():
        try:
            data = loads(redis_guard.client().get(full_key(user_id)))
            USER_CACHE_LOOKUPS.labels("hit" if data else "miss").inc()
        except redis_guard.REDIS_ERRORS as exc:
            redis_guard.guard().breaker.trip(exc)
            USER_CACHE_LOOKUPS.labels("error").inc()
    if data is None:
        data = load_from_db(user_id)
        if data is not None and enabled():
            store(data)
    return CurrentUser.from_dict(data) if data else None


def store(data: dict) -> None:
    """Fill the cache after a miss; best effort (a failed fill only costs a query later)."""
    if not redis_guard.guard().breaker.available():
        return
    try:
        redis_guard.client().set(full_key(data["id"]), dumps(data), ex=ttl())
    except redis_guard.REDIS_ERRORS as exc:
        redis_guard.guard().breaker.trip(exc)


def invalidate(user_id: int) -> None:
    """Delete ``user:<id>``: called by every writer right after its commit.

    Always attempted (even with the read breaker open); if Redis cannot be
    reached the delete is queued and replayed by this process's next pipeline.
    """
    redis_guard.write(full_key(user_id), "delete")
