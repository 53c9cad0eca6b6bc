"""Who is asking, remembered in process: users and login sessions, kept exact by Redis.

Every authenticated request needs the caller's user (tier, active, admin,
token version) and whether its login session was revoked. Both live in Redis
(app/accounts/user_cache.py, app/accounts/tokens.py) and cost one round trip
per request; this module lets a web process answer from its own memory and
keeps that memory exactly as current as Redis:

* every writer (``user_cache.invalidate``, ``tokens.revoke_session``) ends by
  publishing what changed on one channel and waiting until every subscribed
  process has dropped it (app/accounts/auth_invalidation.py);
* each process's listener thread drops the entry and acknowledges; it also
  pings Redis every ``lease / 4`` through the same connection. Redis answers
  in order, so a PONG for a PING sent at ``t`` means every invalidation
  published before ``t`` has been applied: the memory is *caught up as of t*;
* a request may use this memory only while it was caught up less than
  ``LOCAL_AUTH_LEASE`` seconds ago. A writer whose invalidation a process
  did not acknowledge waits that long before answering (the process's
  memory is unusable by then), so the change is seen on the very next
  request, whichever process takes it;
* a reader stores what it fetched only if no invalidation was applied since
  it started fetching (``epoch``): a fetch that raced a write never lands.

Redis unreachable: no PONG, so the memory stops being used within the lease
and requests take the Redis/SQL path (and its fallbacks); on reconnecting the
listener clears everything before the memory is used again (messages sent
while it was away are lost). Entries live ``LOCAL_AUTH_TTL`` seconds at most
and at most ``LOCAL_AUTH_MAX_ENTRIES`` of each kind are kept.
"""

from __future__ import annotations

import os
import threading
import time

from flask import current_app

from app.accounts import auth_invalidation
from app.accounts.user_cache import CurrentUser
from app.core.per_process import per_process

EXTENSION_KEY = "local_auth"


class LocalAuth:
    """One process's memory for one app: ``user id -> CurrentUser``, ``sid -> revoked``."""

    def __init__(self, lease: float, ttl: float, max_entries: int) -> None:
        self.lease = lease
        self.ttl = ttl
        self.max_entries = max(1, max_entries)
        self.users: dict[int, tuple[CurrentUser, float]] = {}
        self.sessions: dict[str, tuple[bool, float]] = {}
        self.epoch = 0  # +1 for every invalidation applied (and every clear)
        self.caught_up_at = float("-inf")  # monotonic send time of the last PING answered
        self.pid = os.getpid()
        self.lock = threading.Lock()
        # The listener (app/accounts/auth_invalidation.py) sets these.
        self.thread: threading.Thread | None = None
        self.starts = 0
        self.stop_event = threading.Event()

    # -- the request side -----------------------------------------------------------
    def usable(self) -> bool:
        return time.monotonic() - self.caught_up_at < self.lease

    def lookup(self, user_id: int, sid: str) -> tuple[CurrentUser, bool] | None:
        """The user and the session's revocation state, if both are known and current."""
        now = time.monotonic()
        if now - self.caught_up_at >= self.lease:
            return None
        user = self.users.get(user_id)
        session = self.sessions.get(sid)
        if user is None or session is None or user[1] <= now or session[1] <= now:
            return None
        return user[0], session[0]

    def remember(self, epoch: int, user: CurrentUser, sid: str, revoked: bool, session_ttl: float) -> None:
        """Keep what a request fetched, unless an invalidation was applied meanwhile."""
        now = time.monotonic()
        with self.lock:
            if epoch != self.epoch or now - self.caught_up_at >= self.lease:
                return
            _put(self.users, user.id, (user, now + self.ttl), self.max_entries)
            _put(self.sessions, sid, (revoked, now + min(self.ttl, session_ttl)), self.max_entries)

    # -- the invalidation side ----------------------------------------------------------
    def drop(self, kind: str, key: str) -> None:
        """``kind``: "u" (a user id) or "s" (a session id); anything else drops everything."""
        with self.lock:
            self.epoch += 1
            if kind == "u" and key.isdigit():
                self.users.pop(int(key), None)
            elif kind == "s":
                self.sessions.pop(key, None)
            else:
                self._clear()

    def clear(self) -> None:
        with self.lock:
            self.epoch += 1
            self._clear()

    def _clear(self) -> None:
        self.users.clear()
        self.sessions.clear()


def _put(data: dict, key, value, max_entries: int) -> None:
    data.pop(key, None)  # re-inserted at the end: the dict's order is oldest first
    while len(data) >= max_entries:
        del data[next(iter(data))]
    data[key] = value


def enabled(config) -> bool:
    return bool(config.get("LOCAL_AUTH_CACHE", True)) and bool(config.get("USER_CACHE_ENABLED", True))


def for_request() -> LocalAuth | None:
    """This process's memory for the current app (its listener started), or None when off."""
    app = current_app
    if not enabled(app.config):
        return None
    local = per_process(app.extensions, EXTENSION_KEY, lambda: _new(app.config))
    auth_invalidation.ensure_listening(app, local)
    return local


def _new(config) -> LocalAuth:
    return LocalAuth(
        float(config.get("LOCAL_AUTH_LEASE", 0.5)),
        float(config.get("LOCAL_AUTH_TTL", 60)),
        int(config.get("LOCAL_AUTH_MAX_ENTRIES", 10_000)),
    )
