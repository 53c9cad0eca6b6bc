"""The cached user vs an admin's write: no stale entry outlives the write.

A reader that misses the cache, reads the user's row just before an admin
commits a deactivation and stores it just after the admin's cache delete
would keep serving the user as active for the cache's whole TTL. These
tests race real requests against a real server (PostgreSQL, Redis).
"""

from __future__ import annotations

import contextlib
import threading
import time

import requests
from sqlalchemy import event

from tests.conftest import ServerThread


def cached_entry(app, user_id):
    """The cache entry of ``user_id`` as the app decodes it (None if absent)."""
    from app.accounts import user_cache

    with app.app_context():
        from app.core import redis_guard

        return user_cache.loads(redis_guard.client().get(user_cache.full_key(user_id)))


def code(resp):
    return resp.json()["error"]["code"] if resp.status_code >= 400 else None


@contextlib.contextmanager
def hold_user_reads(app, user_id):
    """Hold the first public-fields SELECT of ``user_id`` right after it ran.

    psycopg2 has the row in hand when ``after_cursor_execute`` fires, so the
    reader is stopped with the row as it was, before it can store it.
    Yields (reached, release) events.
    """
    from app.extensions import db

    reached, release = threading.Event(), threading.Event()

    def listener(_conn, _cursor, statement, params, _context, _many):
        if (
            "FROM users" in statement
            and "token_version" in statement
            and "password_hash" not in statement  # not the admin's own ORM load
            and isinstance(params, dict)
            and user_id in params.values()
            and not reached.is_set()
        ):
            reached.set()
            release.wait(10)

    with app.app_context():
        engine = db.engine
    event.listen(engine, "after_cursor_execute", listener)
    try:
        yield reached, release
    finally:
        release.set()
        event.remove(engine, "after_cursor_execute", listener)


def test_a_reader_held_between_its_sql_read_and_its_cache_store_cannot_revive_a_user(app, auth):
    target, admin = auth.user(), auth.admin()
    server = ServerThread(app).start()
    try:
        with hold_user_reads(app, target.id) as (reached, release):
            result = {}
            reader = threading.Thread(
                target=lambda: result.update(
                    resp=requests.get(f"{server.url}/api/users/me", headers=target.headers, timeout=20)
                )
            )
            reader.start()
            assert reached.wait(10), "the reader never read the user's row"
            patch = requests.patch(
                f"{server.url}/api/admin/users/{target.id}",
                headers=admin.headers,
                json={"is_active": False},
                timeout=10,
            )
            assert patch.status_code == 200 and patch.json()["is_active"] is False
            release.set()
            reader.join(20)
        assert result["resp"].status_code == 200  # it was answered from before the change
        entry = cached_entry(app, target.id)
        assert entry is None or entry["is_active"] is False, "the old row was cached after the write"

        resp = requests.get(f"{server.url}/api/users/me", headers=target.headers, timeout=10)
        assert resp.status_code == 403 and code(resp) == "inactive_user"
        assert cached_entry(app, target.id)["is_active"] is False
    finally:
        server.stop()


def test_concurrent_readers_never_see_a_deactivated_user_as_active(app, auth, redis_client):
    """Many rounds of the real race: readers hammer /me (half of them deleting the
    entry before each request to force misses) while an admin deactivates."""
    admin = auth.admin()
    server = ServerThread(app).start()
    me = f"{server.url}/api/users/me"
    try:
        for _ in range(6):
            target = auth.user()
            key = f"alpine:user:{target.id}"
            stop = threading.Event()
            patched_at = [None]
            late = []  # (status, code) of requests that started after the PATCH returned
            failures = []

            def read(
                force_miss,
                target=target,
                key=key,
                stop=stop,
                patched_at=patched_at,
                late=late,
                failures=failures,
            ):
                session = requests.Session()
                try:
                    while not stop.is_set():
                        if force_miss:
                            redis_client.delete(key)
                        started = time.monotonic()
                        resp = session.get(me, headers=target.headers, timeout=10)
                        if patched_at[0] is not None and started > patched_at[0]:
                            late.append((resp.status_code, code(resp)))
                except Exception as exc:  # noqa: BLE001 - reported by the test below
                    failures.append(exc)

            readers = [threading.Thread(target=read, args=(i % 2 == 0,)) for i in range(4)]
            for t in readers:
                t.start()
            time.sleep(0.1)
            patch = requests.patch(
                f"{server.url}/api/admin/users/{target.id}",
                headers=admin.headers,
                json={"is_active": False},
                timeout=10,
            )
            patched_at[0] = time.monotonic()
            assert patch.status_code == 200
            time.sleep(0.3)
            stop.set()
            for t in readers:
                t.join(20)
            assert not failures, failures
            assert late, "no request ran after the deactivation"
            stale = [r for r in late if r != (403, "inactive_user")]
            assert not stale, f"{len(stale)} of {len(late)} later requests were not refused: {stale[:3]}"
            entry = cached_entry(app, target.id)
            assert entry is None or entry["is_active"] is False
            resp = requests.get(me, headers=target.headers, timeout=10)
            assert resp.status_code == 403 and code(resp) == "inactive_user"
    finally:
        server.stop()
