"""/api/keys: create (shown once, hash stored), list, revoke, limits, ownership."""

from __future__ import annotations

import hashlib
from concurrent.futures import ThreadPoolExecutor

import pytest
from sqlalchemy import text

from tests.keys.helpers import create_key, err


def test_create_shows_the_key_once_and_stores_only_its_hash(app, client, logged_in_user):
    resp = client.post("/api/keys", json={"name": "my bot"}, headers=logged_in_user.headers)
    assert resp.status_code == 201, resp.get_json()
    body = resp.get_json()
    key = body["key"]
    assert key.startswith("alp_" + body["prefix"] + "_")
    assert len(key) >= 4 + 43  # >= 32 random bytes of secret
    assert body["scopes"] == ["signals:read"] and body["name"] == "my bot"
    assert body["last_used_at"] is None and body["created_at"]

    listed = client.get("/api/keys", headers=logged_in_user.headers).get_json()["items"]
    assert [k["id"] for k in listed] == [body["id"]]
    assert "key" not in listed[0] and listed[0]["prefix"] == body["prefix"]

    from app.extensions import db

    with app.app_context():
        row = db.session.execute(text("SELECT * FROM api_keys")).mappings().one()
    stored = " ".join(str(v) for v in row.values())
    secret = key.rsplit("_", 1)[1]
    assert key not in stored and secret not in stored
    assert row["key_hash"] == hashlib.sha256(key.encode()).hexdigest()


def test_scopes_are_validated(client, logged_in_user):
    h = logged_in_user.headers
    ok = client.post("/api/keys", json={"name": "b", "scopes": ["account:read", "signals:read"]}, headers=h)
    assert ok.status_code == 201 and ok.get_json()["scopes"] == ["signals:read", "account:read"]
    for bad in (
        {"name": "b", "scopes": ["admin"]},
        {"name": "b", "scopes": []},
        {"name": "b", "scopes": "signals:read"},
        {"name": ""},
        {"name": "   "},
        {"name": "a\x00b"},
        {"name": 7},
        {"nme": "x"},
        {"name": "b", "key": "alp_chosen_by_me"},
    ):
        resp = client.post("/api/keys", json=bad, headers=h)
        assert resp.status_code == 422 and err(resp) == "validation_error", bad
    assert client.post("/api/keys", json={"name": "x" * 101}, headers=h).status_code == 422
    assert (
        client.post("/api/keys", data="nope", headers=h, content_type="application/json").status_code == 400
    )


def test_login_required(client):
    assert err(client.post("/api/keys", json={"name": "b"})) == "token_missing"
    assert client.get("/api/keys").status_code == 401


def test_at_most_ten_keys_then_limit_reached_and_revoking_frees_a_slot(client, logged_in_user):
    ids = [create_key(client, logged_in_user)["id"] for _ in range(10)]
    resp = client.post("/api/keys", json={"name": "eleventh"}, headers=logged_in_user.headers)
    assert resp.status_code == 409 and err(resp) == "limit_reached"
    assert client.delete(f"/api/keys/{ids[0]}", headers=logged_in_user.headers).status_code == 204
    assert create_key(client, logged_in_user)["id"]


def test_concurrent_creations_never_exceed_the_limit(app, auth, logged_in_user):
    """20 creations at once over real HTTP (PostgreSQL row lock): exactly 10 succeed."""
    import requests

    from tests.conftest import ServerThread

    server = ServerThread(app).start()
    try:

        def post(i):
            return requests.post(
                f"{server.url}/api/keys", json={"name": f"b{i}"}, headers=logged_in_user.headers, timeout=30
            ).status_code

        with ThreadPoolExecutor(20) as pool:
            codes = list(pool.map(post, range(20)))
    finally:
        server.stop()
    assert sorted(codes) == [201] * 10 + [409] * 10


def test_concurrent_revocations_of_one_key_give_one_204(app, logged_in_user, client):
    import requests

    from tests.conftest import ServerThread

    key = create_key(client, logged_in_user)
    server = ServerThread(app).start()
    try:

        def delete(_):
            return requests.delete(
                f"{server.url}/api/keys/{key['id']}", headers=logged_in_user.headers, timeout=30
            ).status_code

        with ThreadPoolExecutor(10) as pool:
            codes = list(pool.map(delete, range(10)))
    finally:
        server.stop()
    assert sorted(codes) == [204] + [404] * 9


def test_another_users_key_is_404_and_stays_alive(client, auth):
    alice, bob = auth.user(), auth.user()
    key = create_key(client, alice)
    resp = client.delete(f"/api/keys/{key['id']}", headers=bob.headers)
    assert resp.status_code == 404 and err(resp) == "not_found"
    assert client.get("/api/keys", headers=bob.headers).get_json()["items"] == []
    assert [k["id"] for k in client.get("/api/keys", headers=alice.headers).get_json()["items"]] == [
        key["id"]
    ]
    r = client.get("/api/signals/latest", headers={"X-API-Key": key["key"]})
    assert r.status_code != 401


@pytest.mark.parametrize("key_id", ["999999", "-1", str(2**64), "abc"])
def test_unknown_key_ids_are_404(client, logged_in_user, key_id):
    resp = client.delete(f"/api/keys/{key_id}", headers=logged_in_user.headers)
    assert resp.status_code == 404 and err(resp) == "not_found"


def test_revoking_twice_is_404(client, logged_in_user):
    key = create_key(client, logged_in_user)
    assert client.delete(f"/api/keys/{key['id']}", headers=logged_in_user.headers).status_code == 204
    assert client.delete(f"/api/keys/{key['id']}", headers=logged_in_user.headers).status_code == 404
    assert client.get("/api/keys", headers=logged_in_user.headers).get_json()["items"] == []


def test_a_key_cannot_manage_keys(client, logged_in_user):
    key = create_key(client, logged_in_user, scopes=["signals:read", "account:read"])
    for method, path in (("post", "/api/keys"), ("get", "/api/keys"), ("delete", f"/api/keys/{key['id']}")):
        resp = getattr(client, method)(
            path, json={"name": "x"} if method == "post" else None, headers={"X-API-Key": key["key"]}
        )
        assert resp.status_code == 403 and err(resp) == "forbidden", (method, path)


def test_openapi_documents_the_key_scheme(client):
    spec = client.get("/openapi.json").get_json()
    schemes = spec["components"]["securitySchemes"]
    assert schemes["apiKeyAuth"] == {
        "type": "apiKey",
        "in": "header",
        "name": "X-API-Key",
        "description": schemes["apiKeyAuth"]["description"],
    }
    assert "bearerAuth" in schemes
    assert "/api/keys" in spec["paths"] and "/api/keys/{key_id}" in spec["paths"]
    # The routes a key may call say so; the others stay login-only.
    key_or_bearer = [{"bearerAuth": []}, {"apiKeyAuth": []}]
    assert spec["paths"]["/api/signals/latest"]["get"]["security"] == key_or_bearer
    assert spec["paths"]["/api/users/me"]["get"]["security"] == key_or_bearer
    assert spec["paths"]["/api/users/me/usage"]["get"]["security"] == key_or_bearer
    assert spec["paths"]["/api/users/me"]["patch"]["security"] == [{"bearerAuth": []}]
    assert spec["paths"]["/api/keys"]["post"]["security"] == [{"bearerAuth": []}]


def test_keys_are_found_by_a_unique_index_on_the_prefix(app):
    """A lookup by prefix is an index lookup (PostgreSQL's plan says so even with the table forced off seq scans)."""
    from sqlalchemy import inspect

    from app.extensions import db

    with app.app_context():
        insp = inspect(db.engine)
        uniques = [u["column_names"] for u in insp.get_unique_constraints("api_keys")]
        uniques += [i["column_names"] for i in insp.get_indexes("api_keys") if i.get("unique")]
        assert ["prefix"] in uniques
        with db.engine.begin() as conn:
            conn.execute(text("SET LOCAL enable_seqscan = off"))
            plan = " ".join(
                row[0]
                for row in conn.execute(
                    text("EXPLAIN SELECT id, key_hash FROM api_keys WHERE prefix = :p"), {"p": "0" * 12}
                )
            )
    assert "Index" in plan and "uq_api_keys_prefix" in plan, plan
