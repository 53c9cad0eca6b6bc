"""Attacks on authentication: forged, mangled, misused, revoked and expired tokens,
and a non-admin on every admin route (enumerated from the URL map, so a new admin
route is covered the day it is added)."""

from __future__ import annotations

import base64
import json
import time

import jwt as pyjwt
import pytest
from sqlalchemy import delete

from tests.hardening.helpers import assert_envelope, table_counts

WRONG_KEY = "an-attacker-guess-of-the-signing-key-0123456789"


def claims_of(token: str) -> dict:
    return pyjwt.decode(token, options={"verify_signature": False})


def resign(token: str, key: str, **changes) -> str:
    claims = {**claims_of(token), **changes}
    return pyjwt.encode(claims, key, algorithm="HS256")


def b64(data: dict) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


def bearer(token: str) -> dict:
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture
def pair(auth, remember_secret):
    victim = auth.user(email="victim@example.com")
    attacker = auth.user(email="attacker@example.com")
    for t in (victim.access, victim.refresh, attacker.access, attacker.refresh):
        remember_secret(t)
    return victim, attacker


@pytest.mark.filterwarnings("ignore:The HMAC key is")  # our HS384/HS512 forgeries
def test_forged_token_for_another_user_is_401(app, client, pair, remember_secret):
    victim, attacker = pair
    key = app.config["JWT_SECRET_KEY"]
    forged = [
        # The attacker's token with the victim's id, signed with a guessed key.
        resign(attacker.access, WRONG_KEY, sub=str(victim.id)),
        # The victim's own claims, wrong key.
        resign(victim.access, WRONG_KEY),
        # The attacker's valid signature glued onto the victim's payload.
        ".".join(
            [
                attacker.access.split(".")[0],
                b64({**claims_of(attacker.access), "sub": str(victim.id)}),
                attacker.access.split(".")[2],
            ]
        ),
        # alg none, with and without a signature part.
        b64({"alg": "none", "typ": "JWT"}) + "." + b64({**claims_of(victim.access)}) + ".",
        b64({"alg": "none", "typ": "JWT"}) + "." + b64({**claims_of(victim.access)}),
        b64({"alg": "None", "typ": "JWT"}) + "." + b64({**claims_of(victim.access)}) + ".",
        # The right key, but an algorithm we do not accept.
        pyjwt.encode(claims_of(victim.access), key, algorithm="HS512"),
        pyjwt.encode(claims_of(victim.access), key, algorithm="HS384"),
        # The right key, claims we never issue.
        resign(victim.access, key, sub=victim.id),  # int subject
        resign(victim.access, key, sub="1 OR 1=1"),
        resign(victim.access, key, sid=None),
        resign(victim.access, key, tv="0"),
        pyjwt.encode(
            {k: v for k, v in claims_of(victim.access).items() if k != "sid"}, key, algorithm="HS256"
        ),
        # Garbage.
        "not.a.token",
        "a.b",
        "",
        "eyJ" * 50,
    ]
    for token in forged:
        remember_secret(token)
        resp = client.get("/api/users/me", headers=bearer(token))
        err = assert_envelope(resp, 401)
        assert err["code"] in ("token_invalid", "token_missing"), (token, err)
        assert "WWW-Authenticate" in resp.headers


def test_signed_token_for_a_user_that_never_existed_is_401(app, client, pair, remember_secret):
    victim, _ = pair
    token = resign(victim.access, app.config["JWT_SECRET_KEY"], sub="999999")
    remember_secret(token)
    assert_envelope(client.get("/api/users/me", headers=bearer(token)), 401, "token_invalid")


def test_refresh_token_is_not_an_access_token(client, pair):
    victim, _ = pair
    for method, path in (
        ("GET", "/api/users/me"),
        ("PATCH", "/api/users/me"),
        ("GET", "/api/signals/latest"),
        ("GET", "/api/admin/users"),
    ):
        resp = client.open(path, method=method, headers=bearer(victim.refresh), json={})
        err = assert_envelope(resp, 401)
        assert err["code"] in ("token_invalid",), (path, err)


def test_access_token_cannot_refresh(client, pair):
    victim, _ = pair
    assert_envelope(client.post("/api/auth/refresh", headers=bearer(victim.access)), 401, "token_invalid")
    resp = client.post("/api/auth/refresh", headers=bearer(victim.refresh))
    assert resp.status_code == 200


def test_token_of_a_deleted_user_is_401(app, client, pair):
    from app.accounts.models import User
    from app.extensions import db

    victim, _ = pair
    assert client.get("/api/users/me", headers=victim.headers).status_code == 200  # now cached
    with app.app_context():
        db.session.execute(delete(User).where(User.id == victim.id))
        db.session.commit()
        from app.accounts import user_cache

        user_cache.invalidate(victim.id)  # what any delete path must do
    for token in (victim.access,):
        assert_envelope(client.get("/api/users/me", headers=bearer(token)), 401, "token_invalid")
    assert_envelope(client.post("/api/auth/refresh", headers=bearer(victim.refresh)), 401, "token_invalid")


@pytest.mark.parametrize("logout_with", ["access", "refresh"])
def test_both_tokens_of_a_login_are_dead_after_logout(app, client, pair, logout_with, redis_client):
    victim, attacker = pair
    token = victim.access if logout_with == "access" else victim.refresh
    assert client.post("/api/auth/logout", headers=bearer(token)).status_code == 204
    for _ in range(2):  # replay; then again with Redis forgetting everything
        assert_envelope(client.get("/api/users/me", headers=victim.headers), 401, "token_revoked")
        assert_envelope(
            client.post("/api/auth/refresh", headers=bearer(victim.refresh)), 401, "token_revoked"
        )
        assert_envelope(client.post("/api/auth/logout", headers=bearer(victim.access)), 401, "token_revoked")
        redis_client.flushdb()
    # Another user's login is untouched.
    assert client.get("/api/users/me", headers=attacker.headers).status_code == 200


def test_access_token_minted_by_refresh_dies_with_its_session(client, pair, remember_secret):
    victim, _ = pair
    minted = client.post("/api/auth/refresh", headers=bearer(victim.refresh)).get_json()["access_token"]
    remember_secret(minted)
    assert client.post("/api/auth/logout", headers=victim.headers).status_code == 204
    assert_envelope(client.get("/api/users/me", headers=bearer(minted)), 401, "token_revoked")


def test_expired_tokens_are_401_token_expired(app, client, pair, remember_secret):
    victim, _ = pair
    key = app.config["JWT_SECRET_KEY"]
    past = int(time.time()) - 30
    for token, path, method in (
        (victim.access, "/api/users/me", "GET"),
        (victim.refresh, "/api/auth/refresh", "POST"),
    ):
        expired = resign(token, key, exp=past, iat=past - 60, nbf=past - 60)
        remember_secret(expired)
        assert_envelope(client.open(path, method=method, headers=bearer(expired)), 401, "token_expired")
    # Not valid yet is not valid either.
    future = resign(victim.access, key, nbf=int(time.time()) + 3600)
    remember_secret(future)
    assert_envelope(client.get("/api/users/me", headers=bearer(future)), 401)


def test_odd_authorization_headers_are_401(client, pair):
    victim, _ = pair
    for value in (
        "Basic dXNlcjpwYXNz",
        "Bearer",
        "Bearer ",
        f"bearer{victim.access}",
        f"Bearer {victim.access} {victim.access}",
        f"Token {victim.access}",
        "Bearer \x7f\x7f",
    ):
        resp = client.get("/api/users/me", headers={"Authorization": value})
        err = assert_envelope(resp, 401)
        assert err["code"] in ("token_missing", "token_invalid"), (value, err)


# -- every admin route, enumerated ------------------------------------------------------


def admin_routes(app) -> list[tuple[str, str]]:
    """(method, url) for every rule under /api/admin, path variables filled in."""
    routes = []
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith("/api/admin"):
            continue
        url = rule.rule
        for arg in rule.arguments:
            url = url.replace(f"<int:{arg}>", "1").replace(f"<{arg}>", "1")
            url = url.replace(f"<string:{arg}>", "x")
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            routes.append((method, url))
    return routes


def test_admin_routes_are_enumerated(app):
    routes = admin_routes(app)
    assert ("GET", "/api/admin/users") in routes and ("PATCH", "/api/admin/users/1") in routes
    assert ("GET", "/api/admin/analytics") in routes and ("GET", "/api/admin/security") in routes
    assert ("GET", "/api/admin/metrics/requests") in routes


BAD_BODIES = [
    dict(data="{not json", content_type="application/json"),
    dict(json={"tier": "platinum", "is_admin": "yes", "unknown": 1}),
    dict(json=["x"]),
    dict(data="x" * 70_000, content_type="application/json"),
    dict(data="a=b", content_type="application/x-www-form-urlencoded"),
]
BAD_QUERY = "?page=-1&per_page=abc&from=never&granularity=year&q=%00&q=2"


def test_non_admin_gets_403_forbidden_on_every_admin_route(app, client, auth, pair):
    victim, _ = pair
    pro = auth.user(tier="elite")
    before = table_counts(app)
    routes = admin_routes(app)
    for user in (victim, pro):
        for method, url in routes:
            for extra in BAD_BODIES + [{}]:
                for query in ("", BAD_QUERY):
                    resp = client.open(url + query, method=method, headers=user.headers, **extra)
                    assert_envelope(resp, 403, "forbidden")
    # No token at all: 401, whatever the body.
    for method, url in routes:
        assert_envelope(client.open(url + BAD_QUERY, method=method, **BAD_BODIES[0]), 401, "token_missing")
    assert table_counts(app) == before


def test_deactivated_admin_is_refused_everywhere(app, client, auth):
    from app.accounts import admin_changes

    admin = auth.admin()
    with app.app_context():
        admin_changes.deactivate(admin.email)
    for method, url in admin_routes(app):
        assert_envelope(client.open(url, method=method, headers=admin.headers, json={}), 403, "inactive_user")


def test_admin_still_gets_validation_errors(client, auth):
    """The other side: the 403s above are the guard, not a route that always says no."""
    admin = auth.admin()
    assert_envelope(client.get("/api/admin/users?per_page=0", headers=admin.headers), 422)
    assert_envelope(client.patch("/api/admin/users/1", headers=admin.headers, json={"tier": "platinum"}), 422)
