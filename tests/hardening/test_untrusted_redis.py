"""Redis is not trusted with code: whatever someone else writes into the cache keys is
never unpickled, never grants anything, and the truth comes from SQL.

The planted values are what an attacker with write access to Redis would put there:
Flask-Caching's own pickle format (``!`` + pickle bytes) under the real keys.
"""

from __future__ import annotations

import json
import logging
import pickle

import redis


class _TouchMarker:
    """Unpickling this opens (creates) the marker file: proof that planted code ran."""

    def __init__(self, path):
        self.path = str(path)

    def __reduce__(self):
        return (open, (self.path, "w"))


def _raw(app) -> redis.Redis:
    return redis.Redis.from_url(app.config["REDIS_URL"])


def _user_key(user_id: int) -> str:
    return f"alpine:user:{user_id}"


def test_a_planted_pickle_in_the_user_cache_is_never_executed(app, client, logged_in_user, tmp_path, caplog):
    marker = tmp_path / "pwned"
    _raw(app).set(_user_key(logged_in_user.id), b"!" + pickle.dumps(_TouchMarker(marker)), ex=300)

    with caplog.at_level(logging.WARNING, logger="app.core.json_cache"):
        resp = client.get("/api/users/me", headers=logged_in_user.headers)
    assert resp.status_code == 200, resp.get_json()
    assert not marker.exists(), "the planted pickle was executed"
    assert resp.get_json()["email"] == logged_in_user.email
    # Read from SQL, and the cache entry replaced by the real user, as JSON.
    cached = json.loads(_raw(app).get(_user_key(logged_in_user.id)))
    assert cached["email"] == logged_in_user.email
    # Logged once, without the payload.
    warnings = [r for r in caplog.records if "not JSON" in r.getMessage()]
    assert len(warnings) == 1 and "pwned" not in warnings[0].getMessage()


def test_a_forged_admin_entry_in_the_user_cache_grants_nothing(app, client, logged_in_user):
    # The genuine entry first (whatever fields the cache keeps), then the same with is_admin.
    assert client.get("/api/users/me", headers=logged_in_user.headers).status_code == 200
    genuine = json.loads(_raw(app).get(_user_key(logged_in_user.id)))
    assert genuine["is_admin"] is False
    forged = {**genuine, "is_admin": True, "tier": "elite"}
    _raw(app).set(_user_key(logged_in_user.id), b"!" + pickle.dumps(forged), ex=300)

    denied = client.get("/api/admin/analytics", headers=logged_in_user.headers)
    assert denied.status_code == 403, denied.get_json()
    me = client.get("/api/users/me", headers=logged_in_user.headers).get_json()
    assert me["is_admin"] is False and me["tier"] == "starter"
    assert json.loads(_raw(app).get(_user_key(logged_in_user.id)))["is_admin"] is False


def test_planted_json_that_is_not_a_user_is_a_miss(app, client, logged_in_user):
    for planted in (b'{"x":1}', b"[1,2]", b'"admin"', b'{"id":"one","email":1}', b"\xff\xfe"):
        _raw(app).set(_user_key(logged_in_user.id), planted, ex=300)
        resp = client.get("/api/users/me", headers=logged_in_user.headers)
        assert resp.status_code == 200, (planted, resp.get_json())
        assert resp.get_json()["email"] == logged_in_user.email


def test_planted_pickles_in_the_analytics_cache_are_a_miss(app, client, auth, tmp_path):
    admin = auth.admin()
    marker = tmp_path / "pwned"
    key = "alpine:admin:analytics:v1"
    _raw(app).set(key, b"!" + pickle.dumps(_TouchMarker(marker)), ex=300)
    first = client.get("/api/admin/analytics", headers=admin.headers)
    assert first.status_code == 200, first.get_json()
    assert not marker.exists(), "the planted pickle was executed"
    assert first.get_json()["total_users"] == 1

    # A well-formed but forged figure in pickle form is not believed either.
    _raw(app).set(key, b"!" + pickle.dumps({**first.get_json(), "total_users": 999}), ex=300)
    again = client.get("/api/admin/analytics", headers=admin.headers).get_json()
    assert again["total_users"] == 1
    assert json.loads(_raw(app).get(key))["total_users"] == 1  # recomputed and stored as JSON


def test_the_cache_stores_json_and_reads_it_back(app):
    from app.extensions import cache

    with app.app_context():
        cache.set("probe", {"a": [1, 2.5, "x", None, True]})
        cache.set("counter", 5)
        assert cache.cache.inc("counter") == 6  # integers stay plain ASCII for INCRBY
        assert cache.get("probe") == {"a": [1, 2.5, "x", None, True]}
        assert cache.get("counter") == 6
    assert _raw(app).get("alpine:probe") == b'{"a":[1,2.5,"x",null,true]}'
