"""API keys without Redis: requests are served from SQL, a revocation still lands."""

from __future__ import annotations

from tests.conftest import DEFAULT_PASSWORD
from tests.keys.helpers import err


def test_keys_work_and_revoke_while_redis_is_down(app, base_config, own_redis):
    from app import create_app

    url = own_redis.url
    config = {**base_config, "REDIS_URL": url, "REDIS_BREAKER_SECONDS": 0.2, "API_KEY_USAGE_FLUSH_SECONDS": 0}
    live, other = create_app(config), create_app(config)
    a, b = live.test_client(), other.test_client()
    email = "bot-owner@example.com"
    assert (
        a.post(
            "/api/auth/register", json={"email": email, "password": DEFAULT_PASSWORD, "full_name": "Owner"}
        ).status_code
        == 201
    )
    token = a.post("/api/auth/login", json={"email": email, "password": DEFAULT_PASSWORD}).get_json()
    login = {"Authorization": f"Bearer {token['access_token']}"}
    made = a.post("/api/keys", json={"name": "bot", "scopes": ["account:read"]}, headers=login).get_json()
    key = {"X-API-Key": made["key"]}
    assert a.get("/api/users/me", headers=key).status_code == 200
    assert b.get("/api/users/me", headers=key).status_code == 200  # both "processes" know the key

    own_redis.kill()
    for client in (a, b):  # served from SQL
        resp = client.get("/api/users/me", headers=key)
        assert resp.status_code == 200 and resp.get_json()["email"] == email

    assert a.delete(f"/api/keys/{made['id']}", headers=login).status_code == 204
    for client in (a, b):  # the revocation row in SQL refuses it at once
        resp = client.get("/api/users/me", headers=key)
        assert resp.status_code == 401 and err(resp) == "token_invalid"
