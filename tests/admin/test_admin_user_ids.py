"""GET /api/admin/users/<id>, and ids in the path that no row can have."""

from __future__ import annotations

import pytest

OUT_OF_RANGE = ["99999999999999999999999", str(2**63), str(2**31), "-1", "-99999999999999999999999"]


def err(resp):
    return resp.get_json()["error"]["code"]


def test_get_one_user(auth, client, logged_in_admin):
    target = auth.user(email="one@example.com", tier="pro", full_name="One")
    resp = client.get(f"/api/admin/users/{target.id}", headers=logged_in_admin.headers)
    assert resp.status_code == 200
    body = resp.get_json()
    assert body["id"] == target.id and body["email"] == "one@example.com"
    assert body["tier"] == "pro" and body["full_name"] == "One" and body["is_active"] is True
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
    resp = client.get(f"/api/admin/users/{target.id + 1000}", headers=logged_in_admin.headers)
    assert resp.status_code == 404 and err(resp) == "not_found"
    resp = client.get(f"/api/admin/users/{2**31 - 1}", headers=logged_in_admin.headers)
    assert resp.status_code == 404 and err(resp) == "not_found"


def test_get_one_user_is_admin_only(auth, client, logged_in_user):
    other = auth.create_user()
    resp = client.get(f"/api/admin/users/{other}", headers=logged_in_user.headers)
    assert resp.status_code == 403 and err(resp) == "forbidden"
    assert err(client.get(f"/api/admin/users/{other}")) == "token_missing"


@pytest.mark.parametrize("user_id", OUT_OF_RANGE)
def test_out_of_range_ids_are_404_and_change_nothing(auth, client, logged_in_admin, user_id):
    target = auth.user()
    h = logged_in_admin.headers
    resp = client.patch(f"/api/admin/users/{user_id}", headers=h, json={"tier": "elite"})
    assert resp.status_code == 404 and err(resp) == "not_found"
    resp = client.get(f"/api/admin/users/{user_id}", headers=h)
    assert resp.status_code == 404 and err(resp) == "not_found"
    assert client.get("/api/users/me", headers=target.headers).get_json()["tier"] == "starter"
    assert {u["tier"] for u in client.get("/api/admin/users", headers=h).get_json()["items"]} == {"starter"}


def test_every_integer_in_the_url_map_is_bounded(app, client, logged_in_admin):
    """Any route with an <int:...> part: an id past 64 bits is a JSON 404, never a 500."""
    rules = [
        r
        for r in app.url_map.iter_rules()
        if any(
            type(c).__name__.endswith("IntConverter") or "Integer" in type(c).__name__
            for c in r._converters.values()
        )
    ]
    assert rules, "no route with an integer in its path"
    for rule in rules:
        url = rule.rule
        for name in rule._converters:
            url = url.replace(f"<int:{name}>", OUT_OF_RANGE[0])
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            resp = client.open(url, method=method, headers=logged_in_admin.headers, json={})
            assert resp.status_code == 404 and err(resp) == "not_found", (method, url)


def test_the_api_document_lists_get_one_user_with_bounded_ids(client):
    doc = client.get("/openapi.json").get_json()
    path = doc["paths"]["/api/admin/users/{user_id}"]
    assert {"get", "patch"} <= set(path)
    params = path.get("parameters") or path["get"].get("parameters")
    (param,) = [p for p in params if p["name"] == "user_id"]
    assert param["schema"] == {"type": "integer", "minimum": 0, "maximum": 2**31 - 1}
    assert "404" in path["get"]["responses"]


def test_out_of_range_ids_are_404_on_sqlite_too(app, tmp_path, base_config):
    """SQLite's driver refuses integers past 64 bits (OverflowError): the id must
    never reach it. (The embedded stack of ./run runs on SQLite.) ``app``: its
    teardown empties the Redis DB this app's user cache wrote to."""
    from app import create_app
    from app.accounts import users as user_service
    from app.accounts.tokens import issue_tokens
    from app.extensions import db

    lite = create_app({**base_config, "DATABASE_URL": f"sqlite:///{tmp_path / 'ids.db'}"})
    with lite.app_context():
        db.create_all()
        admin = user_service.create_user("lite-admin@example.com", "correct horse battery", is_admin=True)
        h = {"Authorization": f"Bearer {issue_tokens(admin)['access_token']}"}
    c = lite.test_client()
    for user_id in OUT_OF_RANGE:
        resp = c.patch(f"/api/admin/users/{user_id}", headers=h, json={"tier": "pro"})
        assert resp.status_code == 404 and err(resp) == "not_found", user_id
        resp = c.get(f"/api/admin/users/{user_id}", headers=h)
        assert resp.status_code == 404 and err(resp) == "not_found", user_id
    assert c.get(f"/api/admin/users/{admin.id}", headers=h).status_code == 200
