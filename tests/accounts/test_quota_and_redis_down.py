"""Per-tier daily quotas on /api/signals/*, and life without Redis."""

from __future__ import annotations

import pytest

from tests.conftest import DEFAULT_PASSWORD


def err(resp):
    return resp.get_json()["error"]["code"]


def add_probe(app):
    """A tiny route on the signals blueprint's endpoint namespace (the quota hook's scope)."""
    from flask_jwt_extended import current_user, jwt_required

    @jwt_required()
    def probe():
        return {"user": current_user.id, "tier": current_user.tier}

    app.add_url_rule("/api/signals/_quota_probe", endpoint="signals._quota_probe", view_func=probe)


@pytest.fixture
def config_overrides():
    return {"TIER_QUOTA_OVERRIDES": {"starter": 3, "pro": 5}}


def test_quota_headers_and_429_with_retry_after(app, client, auth):
    add_probe(app)
    u = auth.user(tier="starter")
    for remaining in (2, 1, 0):
        resp = client.get("/api/signals/_quota_probe", headers=u.headers)
        assert resp.status_code == 200
        assert resp.headers["X-RateLimit-Limit"] == "3"
        assert resp.headers["X-RateLimit-Remaining"] == str(remaining)
    resp = client.get("/api/signals/_quota_probe", headers=u.headers)
    assert resp.status_code == 429 and err(resp) == "quota_exceeded"
    assert 0 < int(resp.headers["Retry-After"]) <= 86400
    assert resp.headers["X-RateLimit-Remaining"] == "0"
    # Other users and other blueprints are unaffected.
    other = auth.user()
    assert client.get("/api/signals/_quota_probe", headers=other.headers).status_code == 200
    assert client.get("/api/users/me", headers=u.headers).status_code == 200
    assert "X-RateLimit-Limit" not in client.get("/api/users/me", headers=u.headers).headers


def test_quota_follows_a_tier_change_at_once(app, client, auth, logged_in_admin):
    add_probe(app)
    u = auth.user(tier="starter")
    for _ in range(3):
        client.get("/api/signals/_quota_probe", headers=u.headers)
    assert client.get("/api/signals/_quota_probe", headers=u.headers).status_code == 429
    client.patch(f"/api/admin/users/{u.id}", headers=logged_in_admin.headers, json={"tier": "pro"})
    resp = client.get("/api/signals/_quota_probe", headers=u.headers)
    assert resp.status_code == 200 and resp.headers["X-RateLimit-Limit"] == "5"


def test_refused_requests_do_not_use_quota(app, client, auth):
    add_probe(app)
    u = auth.user()
    assert client.get("/api/signals/_quota_probe").status_code == 401
    client.post("/api/auth/logout", headers=auth.headers(auth.tokens_for(u.id)["access_token"]))
    client.get("/api/signals/_quota_probe", headers=u.headers)
    resp = client.get("/api/signals/_quota_probe", headers=u.headers)
    assert resp.headers["X-RateLimit-Remaining"] == "1"  # 3 - 2: the 401 was not counted


def test_signals_blueprint_requires_a_token(client):
    resp = client.get("/api/signals/latest")
    assert resp.status_code == 401 and err(resp) == "token_missing"


def test_requests_keep_working_when_redis_dies(app, base_config, own_redis):
    from app import create_app
    from app.accounts.user_cache import USER_CACHE_LOOKUPS

    url = own_redis.url
    live = create_app(
        {
            **base_config,
            "REDIS_URL": url,
            "TIER_QUOTA_OVERRIDES": {"starter": 3},
            "REDIS_BREAKER_SECONDS": 0.2,
        }
    )
    add_probe(live)
    c = live.test_client()
    assert (
        c.post(
            "/api/auth/register",
            json={"email": "r@example.com", "password": DEFAULT_PASSWORD, "full_name": "R"},
        ).status_code
        == 201
    )
    tokens = c.post(
        "/api/auth/login", json={"email": "r@example.com", "password": DEFAULT_PASSWORD}
    ).get_json()
    h = {"Authorization": f"Bearer {tokens['access_token']}"}
    assert c.get("/api/users/me", headers=h).status_code == 200
    assert c.get("/api/users/me", headers=h).status_code == 200  # cached
    assert c.get("/api/signals/_quota_probe", headers=h).status_code == 200  # quota 1 (in Redis)

    own_redis.kill()
    errors = USER_CACHE_LOOKUPS.labels("error")._value.get()
    for _ in range(3):
        assert c.get("/api/users/me", headers=h).status_code == 200
    assert USER_CACHE_LOOKUPS.labels("error")._value.get() > errors
    # Login still works...
    again = c.post("/api/auth/login", json={"email": "r@example.com", "password": DEFAULT_PASSWORD})
    assert again.status_code == 200
    # ...throttling counts in process memory...
    for _ in range(5):
        assert (
            c.post("/api/auth/login", json={"email": "x@example.com", "password": "wrong pass"}).status_code
            == 401
        )
    locked = c.post("/api/auth/login", json={"email": "x@example.com", "password": "wrong pass"})
    assert locked.status_code == 429 and "Retry-After" in locked.headers
    # ...quotas count in process memory (the local day counter starts afresh)...
    codes = [c.get("/api/signals/_quota_probe", headers=h).status_code for _ in range(4)]
    assert codes == [200, 200, 200, 429]
    # ...and logout is durable in SQL: the token stays revoked.
    h2 = {"Authorization": f"Bearer {again.get_json()['access_token']}"}
    assert c.post("/api/auth/logout", headers=h2).status_code == 204
    assert err(c.get("/api/users/me", headers=h2)) == "token_revoked"
    assert c.get("/api/users/me", headers=h).status_code == 200
