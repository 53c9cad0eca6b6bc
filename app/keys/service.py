"""Creating, listing and revoking keys, and finding the key a request presents.

Revocation rides on the login-session revocation of app/accounts/tokens.py:
a key authenticates as a session ``apikey:<id>`` of its owner (see auth.py),
so revoking it writes that session's ``revoked_tokens`` row (SQL, durable) in
the same commit as ``revoked_at`` and then sets ``alpine:rv:apikey:<id>`` in
Redis and has every web process drop what it remembers of that session
(app/accounts/local_auth.py, acknowledged; SQL when the entry is missing or
Redis is down), so a revoked key is refused on the very next request,
whichever gunicorn worker takes it.

What each process may keep in memory (``KeyFacts``) is what never changes
about a key: its id, owner, scopes and hash. Whether it is still valid is
never cached here.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from dataclasses import dataclass
from datetime import UTC, datetime

from flask import current_app
from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError

from app.accounts import tokens
from app.accounts.models import User
from app.core.errors import DomainError
from app.core.sqlbase import utcnow
from app.extensions import db
from app.keys import keygen
from app.keys.models import ApiKey

SIGNALS_READ = "signals:read"
ACCOUNT_READ = "account:read"
SCOPES = (SIGNALS_READ, ACCOUNT_READ)
DEFAULT_SCOPES = (SIGNALS_READ,)
MAX_KEYS_DEFAULT = 10
# A key's session never ends by itself (2100-01-01): its revocation row is
# never pruned, and the Redis entry for it lives as long as Redis keeps it.
KEY_SESSION_END = 4102444800
FACTS_TTL_SECONDS = 300.0
FACTS_MAX = 4096


class KeyRefused(DomainError):
    """A refused key operation (answered with the envelope by app/core/errors.py)."""

    def __init__(self, status: int, code: str, message: str, details: dict | None = None) -> None:
        super().__init__(message)
        self.status, self.code, self._details = status, code, details or {}

    def details(self) -> dict:
        return self._details


def session_id(key_id: int) -> str:
    return f"apikey:{key_id}"


def max_keys() -> int:
    return int(current_app.config.get("API_KEYS_PER_USER", MAX_KEYS_DEFAULT))


# -- management ---------------------------------------------------------------------
def create_key(user_id: int, name: str, scopes: list[str] | None) -> tuple[ApiKey, str]:
    """A new key for ``user_id``: the row and the key string (shown once)."""
    wanted = sorted(set(scopes or DEFAULT_SCOPES), key=SCOPES.index)
    # Lock the owner's row so concurrent creations count one after another
    # (PostgreSQL; SQLite serialises writers anyway).
    db.session.execute(select(User.id).where(User.id == user_id).with_for_update())
    active = db.session.execute(
        select(func.count(ApiKey.id)).where(ApiKey.user_id == user_id, ApiKey.revoked_at.is_(None))
    ).scalar_one()
    limit = max_keys()
    if active >= limit:
        db.session.rollback()
        raise KeyRefused(
            409,
            "limit_reached",
            f"At most {limit} API keys per user; revoke one first.",
            {"limit": limit},
        )
    for _attempt in range(3):  # a 48-bit prefix collision is astronomically rare
        new = keygen.generate()
        row = ApiKey(
            user_id=user_id, name=name, prefix=new.prefix, key_hash=new.key_hash, scopes=" ".join(wanted)
        )
        db.session.add(row)
        try:
            db.session.commit()
        except IntegrityError:
            db.session.rollback()
            db.session.execute(select(User.id).where(User.id == user_id).with_for_update())
            continue
        return row, new.key
    raise RuntimeError("could not allocate a unique API key prefix")


def list_keys(user_id: int) -> list[ApiKey]:
    return list(
        db.session.execute(
            select(ApiKey).where(ApiKey.user_id == user_id, ApiKey.revoked_at.is_(None)).order_by(ApiKey.id)
        ).scalars()
    )


def revoke_key(user_id: int, key_id: int) -> None:
    """Revoke one of ``user_id``'s keys; another user's key, or a revoked one, is 404."""
    row = db.session.execute(
        select(ApiKey)
        .where(ApiKey.id == key_id, ApiKey.user_id == user_id, ApiKey.revoked_at.is_(None))
        .with_for_update()
    ).scalar_one_or_none()
    if row is None:
        db.session.rollback()
        raise KeyRefused(404, "not_found", "No such API key.")
    row.revoked_at = utcnow()
    # Commits revoked_at together with the session's revocation row, then Redis.
    tokens.revoke_session({"sid": session_id(row.id), "sx": KEY_SESSION_END, "jti": None}, user_id)
    forget(row.prefix)


# -- lookups on the request path ---------------------------------------------------
@dataclass(frozen=True, slots=True)
class KeyFacts:
    id: int
    user_id: int
    scopes: frozenset[str]
    key_hash: str


class _FactsCache:
    """Bounded, per-process LRU of immutable key facts (prefix -> KeyFacts)."""

    def __init__(self) -> None:
        self.data: OrderedDict[str, tuple[float, KeyFacts]] = OrderedDict()
        self.lock = threading.Lock()

    def get(self, prefix: str) -> KeyFacts | None:
        now = time.monotonic()
        with self.lock:
            hit = self.data.get(prefix)
            if hit is None:
                return None
            if hit[0] < now:
                del self.data[prefix]
                return None
            self.data.move_to_end(prefix)
            return hit[1]

    def put(self, prefix: str, facts: KeyFacts) -> None:
        with self.lock:
            self.data[prefix] = (time.monotonic() + FACTS_TTL_SECONDS, facts)
            while len(self.data) > FACTS_MAX:
                self.data.popitem(last=False)

    def pop(self, prefix: str) -> None:
        with self.lock:
            self.data.pop(prefix, None)


def _facts_cache() -> _FactsCache:
    ext = current_app.extensions
    cache = ext.get("api_key_facts")
    if cache is None:
        cache = ext.setdefault("api_key_facts", _FactsCache())
    return cache


def forget(prefix: str) -> None:
    _facts_cache().pop(prefix)


def find(key: str) -> KeyFacts | None:
    """The facts of the live key ``key``, or None (malformed, unknown, wrong secret, revoked).

    A revoked key that this process still remembers passes here; the auth
    pipeline's revocation check refuses it (see the module docstring).
    """
    prefix = keygen.parse_prefix(key)
    if prefix is None:
        return None
    cache = _facts_cache()
    facts = cache.get(prefix)
    if facts is None:
        row = db.session.execute(
            select(ApiKey.id, ApiKey.user_id, ApiKey.scopes, ApiKey.key_hash, ApiKey.revoked_at).where(
                ApiKey.prefix == prefix
            )
        ).first()
        if row is None or row.revoked_at is not None:
            return None
        facts = KeyFacts(row.id, row.user_id, frozenset(row.scopes.split()), row.key_hash)
        cache.put(prefix, facts)
    return facts if keygen.matches(key, facts.key_hash) else None


def touch(key_ids: list[int], now: datetime | None = None) -> None:
    """Write ``last_used_at`` (callers make sure this happens at most once a minute per key)."""
    if not key_ids:
        return
    now = now or datetime.now(UTC)
    # Its own connection and transaction: never commits a view's session.
    with db.engine.begin() as conn:
        conn.execute(update(ApiKey).where(ApiKey.id.in_(key_ids)).values(last_used_at=now))
