"""/api/webhooks CRUD: tiers, ownership, limits, validation, the SSRF check on create."""

from __future__ import annotations

import base64
import threading

import pytest
import requests

from tests.conftest import ServerThread

URL = "http://127.0.0.1:9/hook"  # never called by these tests (no worker runs)


@pytest.fixture
def pro(auth):
    return auth.user(tier="pro")


def _create(client, user, **fields):
    body = {"url": URL, "events": ["signal.created"], **fields}
    return client.post("/api/webhooks", json=body, headers=user.headers)


def _count(app):
    from app.extensions import db
    from app.webhooks.models import WebhookEndpoint

    with app.app_context():
        return db.session.query(WebhookEndpoint).count()


def test_create_shows_the_secret_once_and_crud_round_trip(client, pro):
    resp = _create(client, pro, symbols=["aapl", "AAPL", "BTC-USD"], min_confidence=80)
    assert resp.status_code == 201, resp.get_json()
    created = resp.get_json()
    assert created["secret"].startswith("whsec_")
    assert len(base64.b64decode(created["secret"][len("whsec_") :])) >= 24
    assert created["symbols"] == ["AAPL", "BTC-USD"]
    assert created["is_active"] is True and created["events"] == ["signal.created"]

    listed = client.get("/api/webhooks", headers=pro.headers).get_json()["items"]
    assert [e["id"] for e in listed] == [created["id"]]
    assert "secret" not in listed[0]
    one = client.get(f"/api/webhooks/{created['id']}", headers=pro.headers).get_json()
    assert "secret" not in one and one["url"] == URL

    patched = client.patch(
        f"/api/webhooks/{created['id']}", json={"symbols": None, "is_active": False}, headers=pro.headers
    )
    assert patched.status_code == 200
    assert patched.get_json()["symbols"] is None and patched.get_json()["is_active"] is False
    assert patched.get_json()["disabled_reason"] == "disabled_by_owner"

    again = client.patch(f"/api/webhooks/{created['id']}", json={"is_active": True}, headers=pro.headers)
    assert again.get_json()["is_active"] is True and again.get_json()["disabled_reason"] is None

    rotated = client.post(f"/api/webhooks/{created['id']}/rotate-secret", headers=pro.headers)
    assert rotated.status_code == 200
    assert (
        rotated.get_json()["secret"].startswith("whsec_")
        and rotated.get_json()["secret"] != created["secret"]
    )

    assert client.delete(f"/api/webhooks/{created['id']}", headers=pro.headers).status_code == 204
    assert client.get(f"/api/webhooks/{created['id']}", headers=pro.headers).status_code == 404


def test_starter_is_refused_before_validation(client, auth):
    starter = auth.user(tier="starter")
    for resp in (
        client.post("/api/webhooks", json={"nonsense": 1}, headers=starter.headers),
        client.get("/api/webhooks", headers=starter.headers),
        client.post("/api/webhooks/1/test", headers=starter.headers),
    ):
        assert resp.status_code == 403
        assert resp.get_json()["error"]["code"] == "tier_required"


def test_no_token_is_401(client):
    resp = client.get("/api/webhooks")
    assert resp.status_code == 401 and resp.get_json()["error"]["code"] == "token_missing"


def test_another_users_endpoint_is_404_everywhere(app, client, auth, pro):
    other = auth.user(tier="elite")
    eid = _create(client, other).get_json()["id"]
    for method, path, body in (
        ("get", f"/api/webhooks/{eid}", None),
        ("patch", f"/api/webhooks/{eid}", {"is_active": False}),
        ("delete", f"/api/webhooks/{eid}", None),
        ("post", f"/api/webhooks/{eid}/test", None),
        ("post", f"/api/webhooks/{eid}/rotate-secret", None),
        ("get", f"/api/webhooks/{eid}/deliveries", None),
        ("get", "/api/webhooks/99999", None),
        ("get", f"/api/webhooks/{2**64}", None),
        ("get", "/api/webhooks/-1", None),
    ):
        resp = getattr(client, method)(path, json=body, headers=pro.headers)
        assert resp.status_code == 404, (method, path, resp.get_json())
        assert resp.get_json()["error"]["code"] == "not_found"
    mine = client.get(f"/api/webhooks/{eid}", headers=other.headers).get_json()
    assert mine["is_active"] is True  # the PATCH above changed nothing
    assert client.get("/api/webhooks", headers=pro.headers).get_json()["items"] == []


def test_sixth_endpoint_is_409_limit_reached(app, client, pro):
    for _ in range(5):
        assert _create(client, pro).status_code == 201
    resp = _create(client, pro)
    assert resp.status_code == 409
    assert resp.get_json()["error"]["code"] == "limit_reached"
    assert _count(app) == 5


def test_concurrent_creates_never_pass_the_limit(app, pro):
    server = ServerThread(app).start()
    try:
        barrier = threading.Barrier(12)
        codes = []

        def create():
            barrier.wait()
            resp = requests.post(
                f"{server.url}/api/webhooks",
                json={"url": URL, "events": ["signal.created"]},
                headers=pro.headers,
                timeout=30,
            )
            codes.append(resp.status_code)

        threads = [threading.Thread(target=create) for _ in range(12)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    finally:
        server.stop()
    assert sorted(codes) == [201] * 5 + [409] * 7
    assert _count(app) == 5


@pytest.mark.parametrize(
    "body",
    [
        {"url": "ftp://127.0.0.1/x", "events": ["signal.created"]},
        {"url": "http:///nohost", "events": ["signal.created"]},
        {"url": "http://user:pw@127.0.0.1/x", "events": ["signal.created"]},
        {"url": "http://127.0.0.1:99999/x", "events": ["signal.created"]},
        {"url": "http://127.0.0.1/x", "events": []},
        {"url": "http://127.0.0.1/x", "events": ["user.deleted"]},
        {"url": "http://127.0.0.1/x", "events": ["signal.created"], "min_confidence": 101},
        {"url": "http://127.0.0.1/x", "events": ["signal.created"], "symbols": ["A" * 17]},
        {"url": "http://127.0.0.1/x", "events": ["signal.created"], "symbols": ["X"] * 101},
        {"url": "http://127.0.0.1/x", "events": ["signal.created"], "secret": "whsec_mine"},
        {"url": "http://127.0.0.1/" + "x" * 3000, "events": ["signal.created"]},
        {"events": ["signal.created"]},
    ],
)
def test_bad_bodies_are_422_and_create_nothing(app, client, pro, body):
    resp = client.post("/api/webhooks", json=body, headers=pro.headers)
    assert resp.status_code == 422, resp.get_json()
    assert resp.get_json()["error"]["code"] == "validation_error"
    assert _count(app) == 0


def test_not_json_is_400(client, pro):
    resp = client.post("/api/webhooks", data="nope", content_type="application/json", headers=pro.headers)
    assert resp.status_code == 400 and resp.get_json()["error"]["code"] == "invalid_json"
