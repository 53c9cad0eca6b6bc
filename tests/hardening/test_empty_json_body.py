"""An empty body announced as JSON is 400 ``invalid_json`` on every endpoint that takes one.

Before, webargs saw "no data" and reported each required field missing (422),
or (on endpoints whose fields are all optional) applied an empty change.
"""

from __future__ import annotations

import pytest

from tests.hardening.helpers import assert_envelope, table_counts


@pytest.fixture
def people(auth):
    # alice is pro: webhook endpoints answer a starter 403 tier_required before reading the body.
    return auth.admin(email="root@example.com"), auth.user(email="alice@example.com", tier="pro")


def json_body_operations(client):
    """(method, path template) of every operation whose OpenAPI entry has a JSON body."""
    doc = client.get("/openapi.json").get_json()
    return [
        (method.upper(), path)
        for path, item in doc["paths"].items()
        for method, op in item.items()
        if isinstance(op, dict) and "application/json" in op.get("requestBody", {}).get("content", {})
    ]


@pytest.mark.parametrize("content_type", ["application/json", "application/json; charset=utf-8"])
def test_empty_json_body_is_400_everywhere(app, client, people, content_type):
    admin, alice = people
    endpoint = client.post(
        "/api/webhooks",
        json={"url": "http://127.0.0.1:9/hook", "events": ["signal.created"]},
        headers=alice.headers,
    ).get_json()
    operations = json_body_operations(client)
    assert ("POST", "/api/auth/login") in operations and ("PATCH", "/api/users/me") in operations
    before = table_counts(app)
    for method, path in operations:
        headers = admin.headers if "/admin/" in path else alice.headers
        url = path.replace("{user_id}", str(alice.id)).replace("{endpoint_id}", str(endpoint["id"]))
        resp = client.open(url, method=method, data=b"", content_type=content_type, headers=headers)
        assert_envelope(resp, 400, "invalid_json")
    assert table_counts(app) == before
    # The login throttle did not count it as a failure, and alice is untouched.
    assert (
        client.post(
            "/api/auth/login", json={"email": "alice@example.com", "password": alice.password}
        ).status_code
        == 200
    )


def test_login_with_an_empty_json_body(client):
    resp = client.post("/api/auth/login", data="", content_type="application/json")
    err = assert_envelope(resp, 400, "invalid_json")
    assert "empty" in err["message"]


def test_no_body_and_no_content_type_is_still_missing_fields(client):
    """Nothing announced, nothing sent: the required fields are missing (422)."""
    err = assert_envelope(client.post("/api/auth/login"), 422, "validation_error")
    assert set(err["details"]["json"]) == {"email", "password"}
