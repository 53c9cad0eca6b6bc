"""GET/PATCH /api/users/me, password change, and the cached current user."""

from __future__ import annotations

import contextlib
import json

import pytest
import redis
from sqlalchemy import event

from tests.conftest import DEFAULT_PASSWORD


def err(resp):
    return resp.get_json()["error"]["code"]


@contextlib.contextmanager
def count_user_queries(app):
    """Statements that read the users table, on this app's engine."""
    from app.extensions import db

    seen = []

    def listener(_conn, _cursor, statement, _params, _context, _many):
        if "FROM users" in statement:
            seen.append(statement)

    with app.app_context():
        engine = db.engine
    event.listen(engine, "before_cursor_execute", listener)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", listener)


def lookups():
    from app.accounts.user_cache import USER_CACHE_LOOKUPS

    return {r: USER_CACHE_LOOKUPS.labels(r)._value.get() for r in ("local", "hit", "miss", "error")}


def test_me_returns_the_public_fields(auth, client, logged_in_user):
    resp = client.get("/api/users/me", headers=logged_in_user.headers)
    assert resp.status_code == 200
    body = resp.get_json()
    assert body["id"] == logged_in_user.id and body["email"] == logged_in_user.email
    assert body["tier"] == "starter" and body["is_active"] is True and body["is_admin"] is False
    assert set(body) == {
        "id",
        "email",
        "full_name",
        "tier",
        "is_active",
        "is_verified",
        "is_admin",
        "created_at",
    }


def test_a_cache_hit_performs_no_user_query(app, client, logged_in_user, redis_client):
    before = lookups()
    with count_user_queries(app) as seen:
        assert client.get("/api/users/me", headers=logged_in_user.headers).status_code == 200
        assert len(seen) == 1  # the miss
        for _ in range(5):
            assert client.get("/api/users/me", headers=logged_in_user.headers).status_code == 200
        assert len(seen) == 1  # five hits, no more queries
    after = lookups()
    assert after["miss"] - before["miss"] == 1
    # The hits: Redis's user cache, then this process's memory (app/accounts/local_auth.py).
    assert (after["hit"] - before["hit"]) + (after["local"] - before["local"]) == 5
    # What is cached: a plain dict of public fields, as JSON (never a pickle); no hash.
    raw = redis.Redis.from_url(app.config["REDIS_URL"]).get(f"alpine:user:{logged_in_user.id}")
    cached = json.loads(raw)
    assert isinstance(cached, dict) and "password_hash" not in cached
    assert cached["email"] == logged_in_user.email
    assert 0 < redis_client.ttl(f"alpine:user:{logged_in_user.id}") <= 300
    with app.app_context():
        from app.extensions import cache

        assert cache.get(f"user:{logged_in_user.id}") == cached  # the same entry via Flask-Caching


def test_cache_off_reads_the_database_every_time(app, client, auth, base_config):
    from app import create_app

    off = create_app({**base_config, "USER_CACHE_ENABLED": False})
    u = auth.user()
    c = off.test_client()
    with count_user_queries(off) as seen:
        for _ in range(3):
            assert c.get("/api/users/me", headers=u.headers).status_code == 200
    assert len(seen) == 3


def test_patch_me_updates_name_and_email(auth, client, logged_in_user):
    h = logged_in_user.headers
    client.get("/api/users/me", headers=h)  # warm the cache
    resp = client.patch(
        "/api/users/me", headers=h, json={"full_name": "  New Name ", "email": " New@Example.com"}
    )
    assert resp.status_code == 200
    assert resp.get_json()["full_name"] == "New Name"
    assert resp.get_json()["email"] == "new@example.com"
    me = client.get("/api/users/me", headers=h).get_json()  # not the stale cached copy
    assert me["email"] == "new@example.com" and me["full_name"] == "New Name"
    assert client.patch("/api/users/me", headers=h, json={}).status_code == 200


def test_patch_me_errors(auth, client, logged_in_user):
    auth.create_user("taken@example.com")
    h = logged_in_user.headers
    resp = client.patch("/api/users/me", headers=h, json={"email": "TAKEN@example.com"})
    assert resp.status_code == 409 and err(resp) == "email_taken"
    for body in ({"email": "nope"}, {"full_name": ""}, {"tier": "elite"}, {"is_admin": True}):
        resp = client.patch("/api/users/me", headers=h, json=body)
        assert resp.status_code == 422 and err(resp) == "validation_error", body
    assert client.get("/api/users/me", headers=h).get_json()["tier"] == "starter"
    assert client.patch("/api/users/me", json={"full_name": "x"}).status_code == 401


def test_password_change_kills_every_older_token(auth, client):
    u = auth.user()
    second = auth.tokens_for(u.id)
    client.get("/api/users/me", headers=u.headers)  # warm cache
    resp = client.post(
        "/api/users/me/password",
        headers=u.headers,
        json={"current_password": DEFAULT_PASSWORD, "new_password": "brand new password"},
    )
    assert resp.status_code == 204
    for token in (u.access, second["access_token"]):
        resp = client.get("/api/users/me", headers=auth.headers(token))
        assert resp.status_code == 401 and err(resp) == "token_revoked"
    assert err(client.post("/api/auth/refresh", headers=auth.headers(u.refresh))) == "token_revoked"
    bad = client.post("/api/auth/login", json={"email": u.email, "password": DEFAULT_PASSWORD})
    assert bad.status_code == 401
    tokens = auth.login(u.email, "brand new password")
    assert client.get("/api/users/me", headers=auth.headers(tokens["access_token"])).status_code == 200


def test_password_change_errors(auth, client, logged_in_user):
    h = logged_in_user.headers
    resp = client.post(
        "/api/users/me/password",
        headers=h,
        json={"current_password": "wrong password", "new_password": "another password"},
    )
    assert resp.status_code == 401 and err(resp) == "invalid_credentials"
    resp = client.post(
        "/api/users/me/password",
        headers=h,
        json={"current_password": DEFAULT_PASSWORD, "new_password": "short"},
    )
    assert resp.status_code == 422
    assert client.get("/api/users/me", headers=h).status_code == 200  # nothing changed


@pytest.mark.parametrize("change", ["deactivate", "tier"])
def test_changes_take_effect_on_the_next_request_with_a_warm_cache(auth, client, runner, change):
    u = auth.user()
    assert client.get("/api/users/me", headers=u.headers).status_code == 200
    assert client.get("/api/users/me", headers=u.headers).status_code == 200  # cache hit
    if change == "deactivate":
        assert runner.invoke(args=["users", "deactivate", u.email]).exit_code == 0
        resp = client.get("/api/users/me", headers=u.headers)
        assert resp.status_code == 403 and err(resp) == "inactive_user"
        assert err(client.post("/api/auth/refresh", headers=auth.headers(u.refresh))) == "inactive_user"
    else:
        assert runner.invoke(args=["users", "set-tier", u.email, "elite"]).exit_code == 0
        assert client.get("/api/users/me", headers=u.headers).get_json()["tier"] == "elite"
