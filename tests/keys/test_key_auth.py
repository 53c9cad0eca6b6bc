"""A request made with an API key acts as its owner, within the key's scopes."""

from __future__ import annotations

import contextlib

import pytest
import redis
from sqlalchemy import event

from tests.conftest import DEFAULT_PASSWORD, redis_url
from tests.keys.helpers import create_key, err


def add_probe(app):
    """A route in the signals blueprint's namespace: the feed's quota hook and the signals:read scope."""
    from flask_jwt_extended import current_user, jwt_required

    @jwt_required()
    def probe():
        return {"user": current_user.id, "tier": current_user.tier}

    app.add_url_rule("/api/signals/_key_probe", endpoint="signals._key_probe", view_func=probe)


@pytest.fixture
def config_overrides():
    return {"TIER_QUOTA_OVERRIDES": {"starter": 4, "pro": 6}, "API_KEY_USAGE_FLUSH_SECONDS": 0}


@pytest.fixture
def probe_app(app):
    add_probe(app)
    return app


@pytest.fixture
def client(probe_app):
    return probe_app.test_client()


def bearer(key):
    return {"Authorization": f"Bearer {key}"}


def x_api_key(key):
    return {"X-API-Key": key}


@pytest.mark.parametrize("form", [bearer, x_api_key])
def test_both_header_forms_act_as_the_owner(client, auth, form):
    owner = auth.user(tier="pro")
    key = create_key(client, owner)["key"]
    resp = client.get("/api/signals/_key_probe", headers=form(key))
    assert resp.status_code == 200, resp.get_json()
    assert resp.get_json() == {"user": owner.id, "tier": "pro"}
    assert resp.headers["X-RateLimit-Limit"] == "6"


def test_scopes_are_enforced_on_the_server(client, logged_in_user):
    feed_only = create_key(client, logged_in_user)["key"]
    account_only = create_key(client, logged_in_user, scopes=["account:read"])["key"]
    both = create_key(client, logged_in_user, scopes=["signals:read", "account:read"])["key"]

    assert client.get("/api/signals/_key_probe", headers=x_api_key(feed_only)).status_code == 200
    resp = client.get("/api/users/me", headers=x_api_key(feed_only))
    assert resp.status_code == 403 and err(resp) == "forbidden"
    resp = client.get("/api/signals/_key_probe", headers=x_api_key(account_only))
    assert resp.status_code == 403 and err(resp) == "forbidden"

    me = client.get("/api/users/me", headers=bearer(account_only))
    assert me.status_code == 200 and me.get_json()["id"] == logged_in_user.id
    usage = client.get("/api/users/me/usage", headers=bearer(both))
    assert usage.status_code == 200
    assert client.get("/api/signals/_key_probe", headers=bearer(both)).status_code == 200

    # account:read is read-only; everything else needs a login.
    for method, path, body in (
        ("patch", "/api/users/me", {"full_name": "Bot"}),
        ("post", "/api/users/me/password", {"current_password": DEFAULT_PASSWORD, "new_password": "x" * 20}),
        ("post", "/api/auth/logout", None),
        ("get", "/api/admin/users", None),
        ("post", "/api/keys", {"name": "child"}),
    ):
        resp = getattr(client, method)(path, json=body, headers=x_api_key(both))
        assert resp.status_code == 403 and err(resp) == "forbidden", (method, path, resp.get_json())
    assert client.get("/api/users/me", headers=logged_in_user.headers).get_json()["full_name"] == "Test User"


def test_an_admins_key_is_not_an_admin(client, auth):
    admin = auth.admin()
    key = create_key(client, admin, scopes=["signals:read", "account:read"])["key"]
    resp = client.get("/api/admin/analytics", headers=x_api_key(key))
    assert resp.status_code == 403 and err(resp) == "forbidden"


def test_revoked_key_is_refused_on_the_next_request(client, logged_in_user, redis_client):
    key = create_key(client, logged_in_user)
    h = x_api_key(key["key"])
    assert client.get("/api/signals/_key_probe", headers=h).status_code == 200  # facts now in memory
    assert client.delete(f"/api/keys/{key['id']}", headers=logged_in_user.headers).status_code == 204
    for headers in (h, bearer(key["key"])):
        resp = client.get("/api/signals/_key_probe", headers=headers)
        assert resp.status_code == 401 and err(resp) == "token_invalid"
    redis_client.flushdb()  # SQL is the source of truth
    resp = client.get("/api/signals/_key_probe", headers=h)
    assert resp.status_code == 401 and err(resp) == "token_invalid"


def test_revoked_on_one_app_instance_is_refused_by_another(
    app, base_config, config_overrides, logged_in_user
):
    """Two app instances (two processes' worth of memory) sharing Redis and PostgreSQL."""
    from app import create_app

    other = create_app({**base_config, **config_overrides})
    add_probe(other)
    a, b = app.test_client(), other.test_client()
    key = create_key(a, logged_in_user)
    h = x_api_key(key["key"])
    assert a.get("/api/signals/_key_probe", headers=h).status_code == 200
    assert b.get("/api/signals/_key_probe", headers=h).status_code == 200
    assert a.delete(f"/api/keys/{key['id']}", headers=logged_in_user.headers).status_code == 204
    resp = b.get("/api/signals/_key_probe", headers=h)
    assert resp.status_code == 401 and err(resp) == "token_invalid"


def test_inactive_owner_is_refused_then_restored(client, auth, logged_in_admin):
    owner = auth.user()
    key = create_key(client, owner)["key"]
    assert client.get("/api/signals/_key_probe", headers=x_api_key(key)).status_code == 200
    client.patch(f"/api/admin/users/{owner.id}", json={"is_active": False}, headers=logged_in_admin.headers)
    resp = client.get("/api/signals/_key_probe", headers=x_api_key(key))
    assert resp.status_code == 403 and err(resp) == "inactive_user"
    client.patch(f"/api/admin/users/{owner.id}", json={"is_active": True}, headers=logged_in_admin.headers)
    assert client.get("/api/signals/_key_probe", headers=x_api_key(key)).status_code == 200


def test_tier_change_applies_to_the_key_at_once(client, auth, logged_in_admin):
    owner = auth.user()
    key = create_key(client, owner)["key"]
    assert client.get("/api/signals/_key_probe", headers=x_api_key(key)).get_json()["tier"] == "starter"
    client.patch(f"/api/admin/users/{owner.id}", json={"tier": "elite"}, headers=logged_in_admin.headers)
    assert client.get("/api/signals/_key_probe", headers=x_api_key(key)).get_json()["tier"] == "elite"


def test_quota_is_shared_with_the_owner(client, logged_in_user):
    key = create_key(client, logged_in_user)["key"]
    other_key = create_key(client, logged_in_user)["key"]
    assert client.get("/api/signals/_key_probe", headers=logged_in_user.headers).status_code == 200
    assert client.get("/api/signals/_key_probe", headers=x_api_key(key)).status_code == 200
    assert client.get("/api/signals/_key_probe", headers=bearer(other_key)).status_code == 200
    last = client.get("/api/signals/_key_probe", headers=x_api_key(key))
    assert last.status_code == 200 and last.headers["X-RateLimit-Remaining"] == "0"
    for headers in (x_api_key(key), logged_in_user.headers):
        resp = client.get("/api/signals/_key_probe", headers=headers)
        assert resp.status_code == 429 and err(resp) == "quota_exceeded"


def test_a_password_change_does_not_stop_the_bots(client, logged_in_user):
    key = create_key(client, logged_in_user)["key"]
    resp = client.post(
        "/api/users/me/password",
        json={"current_password": DEFAULT_PASSWORD, "new_password": "another very long passphrase 42"},
        headers=logged_in_user.headers,
    )
    assert resp.status_code == 204
    assert client.get("/api/users/me", headers=logged_in_user.headers).status_code == 401
    assert client.get("/api/signals/_key_probe", headers=x_api_key(key)).status_code == 200


def _hostile(valid: str) -> list[str]:
    prefix = valid.split("_")[1]
    return [
        "alp_" + "0" * 12 + "_" + "A" * 43,  # well-formed, made up
        valid[:-1] + ("B" if valid[-1] != "B" else "C"),  # a real prefix, wrong secret
        valid + "A",  # one character too many
        "alp_" + "x" * 60_000,  # huge
        valid[:20] + "\x00" + valid[21:],  # NUL inside
        "alq_" + valid[4:],  # wrong prefix
        "ALP_" + valid[4:],
        f"alp_{prefix.upper()}_" + valid.split("_", 2)[2],
        "alp_",
        f"alp_{prefix}_../../etc/passwd",
        "alp_' OR '1'='1",
    ]


def test_hostile_keys_are_401_json_and_change_nothing(client, logged_in_user):
    valid = create_key(client, logged_in_user)["key"]
    for bad in _hostile(valid):
        for headers in (x_api_key(bad), bearer(bad)):
            try:
                resp = client.get("/api/signals/_key_probe", headers=headers)
            except ValueError:  # the test client itself refuses some header bytes
                continue
            assert resp.status_code == 401, (bad[:40], resp.status_code)
            assert resp.is_json and err(resp) == "token_invalid"
            assert resp.headers["WWW-Authenticate"].startswith("Bearer")
    empty = client.get("/api/signals/_key_probe", headers={"X-API-Key": ""})
    assert empty.status_code == 401 and err(empty) == "token_invalid"
    # Nothing was counted against the owner's quota, and the real key still works.
    ok = client.get("/api/signals/_key_probe", headers=x_api_key(valid))
    assert ok.status_code == 200 and ok.headers["X-RateLimit-Remaining"] == "3"


def test_a_jwt_in_authorization_wins_over_x_api_key(client, auth):
    alice, bob = auth.user(), auth.user()
    bobs_key = create_key(client, bob)["key"]
    resp = client.get("/api/signals/_key_probe", headers={**alice.headers, "X-API-Key": bobs_key})
    assert resp.get_json()["user"] == alice.id


@contextlib.contextmanager
def count_key_updates(app):
    from app.extensions import db

    seen = []

    def listener(_conn, _cursor, statement, _params, _context, _many):
        if statement.lstrip().upper().startswith("UPDATE API_KEYS"):
            seen.append(statement)

    with app.app_context():
        engine = db.engine
    event.listen(engine, "before_cursor_execute", listener)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", listener)


def test_last_used_at_is_written_at_most_once_a_minute(
    probe_app, base_config, config_overrides, client, auth
):
    from app import create_app

    owner = auth.user(tier="elite")
    key = create_key(client, owner)
    other = create_app({**base_config, **config_overrides})
    add_probe(other)
    with count_key_updates(probe_app) as updates:
        for _ in range(5):
            assert client.get("/api/signals/_key_probe", headers=x_api_key(key["key"])).status_code == 200
            assert other.test_client().get("/api/users/me", headers=x_api_key(key["key"])).status_code == 403
            assert (
                other.test_client().get("/api/signals/_key_probe", headers=bearer(key["key"])).status_code
                == 200
            )
    assert len(updates) == 1  # two "processes", ten requests: one SQL write
    listed = client.get("/api/keys", headers=owner.headers).get_json()["items"][0]
    assert listed["last_used_at"] is not None
    # A minute later (the Redis marker gone, this process's stamp aged) it is written again.
    r = redis.Redis.from_url(redis_url())
    r.delete(f"alpine:apikey:lu:{key['id']}")
    probe_app.extensions["api_key_usage"].stamped.clear()
    with count_key_updates(probe_app) as updates:
        client.get("/api/signals/_key_probe", headers=x_api_key(key["key"]))
    assert len(updates) == 1


def test_requests_are_counted_per_key_in_the_usage_view(client, auth):
    logged_in_user = auth.user(tier="pro")
    a = create_key(client, logged_in_user, name="alpha", scopes=["signals:read", "account:read"])
    b = create_key(client, logged_in_user, name="beta")
    for _ in range(3):
        client.get("/api/signals/_key_probe", headers=x_api_key(a["key"]))
    client.get("/api/signals/_key_probe", headers=bearer(b["key"]))
    client.get("/api/signals/_key_probe", headers=logged_in_user.headers)  # not a key request
    client.get("/api/users/me", headers=x_api_key(b["key"]))  # 403: out of scope, not counted
    usage = client.get("/api/users/me/usage", headers=logged_in_user.headers).get_json()
    assert usage["keys"] == [
        {"id": a["id"], "name": "alpha", "requests_today": 3},
        {"id": b["id"], "name": "beta", "requests_today": 1},
    ]
    assert usage["quota"]["used_today"] == 5
    # Asked with a key (account:read): its own request counts too.
    via_key = client.get("/api/users/me/usage", headers=x_api_key(a["key"])).get_json()
    assert via_key["keys"][0]["requests_today"] >= 3


def test_prometheus_labels_carry_no_key_id(client, logged_in_user):
    from prometheus_client import REGISTRY

    key = create_key(client, logged_in_user)
    client.get("/api/signals/_key_probe", headers=x_api_key(key["key"]))
    client.get("/api/signals/_key_probe", headers=x_api_key("alp_nope"))
    labels = {
        tuple(sorted(s.labels.items()))
        for m in REGISTRY.collect()
        if m.name == "alpine_api_key_requests"
        for s in m.samples
    }
    assert labels and all(dict(lbl).keys() == {"result"} for lbl in labels)
    assert {dict(lbl)["result"] for lbl in labels} <= {"accepted", "invalid", "forbidden"}
    text = "".join(str(s) for m in REGISTRY.collect() for s in m.samples)
    assert key["prefix"] not in text


def test_a_leaked_internal_token_is_refused(probe_app, client, logged_in_user):
    """The JWT minted for a key's session never leaves the server; presented directly it is refused."""
    key = create_key(client, logged_in_user, scopes=["signals:read", "account:read"])
    assert client.get("/api/signals/_key_probe", headers=x_api_key(key["key"])).status_code == 200
    ((internal, _exp),) = probe_app.extensions["api_key_minted"].data.values()
    for method, path in (("get", "/api/signals/_key_probe"), ("get", "/api/users/me"), ("get", "/api/keys")):
        resp = getattr(client, method)(path, headers=bearer(internal))
        assert resp.status_code == 401, (path, resp.get_json())
