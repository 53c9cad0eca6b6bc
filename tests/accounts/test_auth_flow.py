"""Register, login, refresh, logout and every token error code."""

from __future__ import annotations

import time
from datetime import UTC

import jwt as pyjwt
from sqlalchemy import func, select

from tests.conftest import DEFAULT_PASSWORD


def err(resp):
    return resp.get_json()["error"]["code"]


# -- register ---------------------------------------------------------------------
def test_register_normalises_email_and_starts_on_starter(auth):
    resp = auth.register("  Alice@Example.COM ", DEFAULT_PASSWORD, "Alice")
    assert resp.status_code == 201
    body = resp.get_json()
    assert body["email"] == "alice@example.com"
    assert body["tier"] == "starter" and body["is_active"] and not body["is_admin"]
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
    assert "password" not in resp.get_data(as_text=True)


def test_register_same_email_any_case_is_409(auth):
    assert auth.register("bob@example.com").status_code == 201
    resp = auth.register("BOB@example.com")
    assert resp.status_code == 409 and err(resp) == "email_taken"


def test_register_validation(auth, client):
    cases = [
        ({"email": "not-an-email", "password": DEFAULT_PASSWORD, "full_name": "X"}, "email"),
        ({"email": "a@example.com", "password": "short", "full_name": "X"}, "password"),
        ({"email": "a@example.com", "password": "x" * 129, "full_name": "X"}, "password"),
        ({"email": "a@example.com", "password": DEFAULT_PASSWORD, "full_name": ""}, "full_name"),
        ({"email": "a@example.com", "password": DEFAULT_PASSWORD, "full_name": "x" * 201}, "full_name"),
        ({"email": "a@example.com", "password": DEFAULT_PASSWORD}, "full_name"),
        (
            {"email": "a@example.com", "password": DEFAULT_PASSWORD, "full_name": "X", "is_admin": True},
            "is_admin",
        ),
    ]
    for body, field in cases:
        resp = client.post("/api/auth/register", json=body)
        assert resp.status_code == 422, body
        assert err(resp) == "validation_error"
        assert field in resp.get_json()["error"]["details"]["json"], body
    # 10 characters are enough when they are not guessable.
    assert auth.register("a@example.com", "vq7#Lm2!pZ").status_code == 201


def test_register_non_json_is_400(client):
    resp = client.post("/api/auth/register", data="email=a", content_type="text/plain")
    assert resp.status_code == 400 and err(resp) == "invalid_json"
    resp = client.post("/api/auth/register", json=["a"])
    assert resp.status_code == 400 and err(resp) == "invalid_json"


# -- login ------------------------------------------------------------------------
def test_login_returns_token_pair(auth, client):
    auth.register("carol@example.com")
    tokens = auth.login("Carol@Example.com ")
    assert tokens["token_type"] == "bearer" and tokens["expires_in"] == 900
    claims = pyjwt.decode(tokens["access_token"], options={"verify_signature": False})
    assert claims["sub"] == str(claims["sub"]) and claims["type"] == "access"
    refresh = pyjwt.decode(tokens["refresh_token"], options={"verify_signature": False})
    assert refresh["type"] == "refresh" and refresh["sid"] == claims["sid"]
    assert 7 * 86400 - 60 < refresh["exp"] - time.time() <= 7 * 86400
    me = client.get("/api/users/me", headers=auth.headers(tokens["access_token"]))
    assert me.status_code == 200 and me.get_json()["email"] == "carol@example.com"


def test_wrong_password_and_unknown_email_answer_the_same(auth, client, app):
    auth.register("dave@example.com")
    wrong = client.post("/api/auth/login", json={"email": "dave@example.com", "password": "nope" * 3})
    unknown = client.post("/api/auth/login", json={"email": "nobody@example.com", "password": "nope" * 3})
    assert wrong.status_code == unknown.status_code == 401
    assert wrong.get_json() == unknown.get_json()
    assert err(wrong) == "invalid_credentials"

    from app.accounts.security_models import FailedLogin
    from app.extensions import db

    with app.app_context():
        rows = db.session.execute(select(FailedLogin.email, FailedLogin.reason)).all()
    assert sorted(rows) == [
        ("dave@example.com", "invalid_credentials"),
        ("nobody@example.com", "invalid_credentials"),
    ]


def test_unknown_email_costs_about_as_much_as_a_wrong_password(app, base_config):
    """The unknown-email path runs argon2 against a dummy hash, not an early return."""
    from app import create_app
    from app.accounts import users as user_service

    costly = create_app({**base_config, "PASSWORD_HASH_TIME_COST": 2, "PASSWORD_HASH_MEMORY_COST": 32768})
    with costly.app_context():
        user_service.create_user("timed@example.com", DEFAULT_PASSWORD, "T")

        def timed(email):
            t0 = time.perf_counter()
            assert user_service.authenticate(email, "wrong password!") is None
            return time.perf_counter() - t0

        timed("ghost@example.com")  # warm-up: the dummy hash is made once per process
        pairs = [(timed("ghost@example.com"), timed("timed@example.com")) for _ in range(9)]
        # Interleaved, median of per-pair ratios: robust to a busy machine.
        ratio = sorted(u / w for u, w in pairs)[4]
    assert 0.4 < ratio < 2.5, pairs


def test_login_validation(client):
    resp = client.post("/api/auth/login", json={"email": "x@example.com"})
    assert resp.status_code == 422 and "password" in resp.get_json()["error"]["details"]["json"]
    resp = client.post("/api/auth/login", json={"email": "x@example.com", "password": "p", "x": 1})
    assert resp.status_code == 422


def test_inactive_user_cannot_login(auth, client, runner):
    auth.register("erin@example.com")
    assert runner.invoke(args=["users", "deactivate", "erin@example.com"]).exit_code == 0
    resp = client.post("/api/auth/login", json={"email": "erin@example.com", "password": DEFAULT_PASSWORD})
    assert resp.status_code == 403 and err(resp) == "inactive_user"


# -- refresh and token types ---------------------------------------------------------
def test_refresh_gives_a_new_access_token(auth, client):
    u = auth.user()
    resp = client.post("/api/auth/refresh", headers=auth.headers(u.refresh))
    assert resp.status_code == 200
    body = resp.get_json()
    assert set(body) == {"access_token", "expires_in"} and body["expires_in"] == 900
    assert client.get("/api/users/me", headers=auth.headers(body["access_token"])).status_code == 200


def test_refresh_token_is_not_an_access_token_and_vice_versa(auth, client):
    u = auth.user()
    resp = client.get("/api/users/me", headers=auth.headers(u.refresh))
    assert resp.status_code == 401 and err(resp) == "token_invalid"
    resp = client.post("/api/auth/refresh", headers=auth.headers(u.access))
    assert resp.status_code == 401 and err(resp) == "token_invalid"


# -- logout / revocation -------------------------------------------------------------
def test_logout_revokes_access_and_refresh_and_survives_flushdb(auth, client, app, redis_client):
    u = auth.user()
    other = auth.tokens_for(u.id)  # a second login of the same user stays valid
    refreshed = client.post("/api/auth/refresh", headers=auth.headers(u.refresh)).get_json()
    assert client.get("/api/users/me", headers=u.headers).status_code == 200

    assert client.post("/api/auth/logout", headers=u.headers).status_code == 204
    for headers in (u.headers, auth.headers(refreshed["access_token"])):
        resp = client.get("/api/users/me", headers=headers)
        assert resp.status_code == 401 and err(resp) == "token_revoked"
    resp = client.post("/api/auth/refresh", headers=auth.headers(u.refresh))
    assert resp.status_code == 401 and err(resp) == "token_revoked"

    redis_client.flushdb()  # Redis forgets everything: SQL still knows
    assert client.get("/api/users/me", headers=u.headers).status_code == 401
    assert client.post("/api/auth/refresh", headers=auth.headers(u.refresh)).status_code == 401
    assert client.get("/api/users/me", headers=auth.headers(other["access_token"])).status_code == 200

    from app.accounts.security_models import RevokedToken
    from app.extensions import db

    with app.app_context():
        assert db.session.execute(select(func.count(RevokedToken.id))).scalar_one() == 1


def test_logout_with_the_refresh_token_also_works(auth, client):
    u = auth.user()
    assert client.post("/api/auth/logout", headers=auth.headers(u.refresh)).status_code == 204
    assert err(client.get("/api/users/me", headers=u.headers)) == "token_revoked"


def test_revocation_cache_holds_positive_and_negative_entries(auth, client, redis_client):
    u = auth.user()
    sid = pyjwt.decode(u.access, options={"verify_signature": False})["sid"]
    client.get("/api/users/me", headers=u.headers)
    assert redis_client.get(f"alpine:rv:{sid}") == "0"
    assert 0 < redis_client.ttl(f"alpine:rv:{sid}") <= 60
    client.post("/api/auth/logout", headers=u.headers)
    assert redis_client.get(f"alpine:rv:{sid}") == "1"
    assert redis_client.ttl(f"alpine:rv:{sid}") > 6 * 86400


def test_prune_deletes_only_ended_sessions(auth, client, app):
    from datetime import datetime, timedelta

    from app.accounts.security_models import RevokedToken
    from app.accounts.tokens import prune_expired
    from app.extensions import db

    u = auth.user()
    client.post("/api/auth/logout", headers=u.headers)
    with app.app_context():
        db.session.add(RevokedToken(sid="old", expires_at=datetime.now(UTC) - timedelta(seconds=1)))
        db.session.commit()
        assert prune_expired() == 1
        assert db.session.execute(select(RevokedToken.sid)).scalars().all() != ["old"]
    assert err(client.get("/api/users/me", headers=u.headers)) == "token_revoked"


# -- bad tokens ----------------------------------------------------------------------
def _claims(token):
    return pyjwt.decode(token, options={"verify_signature": False})


def test_missing_and_malformed_tokens(client):
    resp = client.get("/api/users/me")
    assert resp.status_code == 401 and err(resp) == "token_missing"
    assert resp.headers["WWW-Authenticate"].startswith("Bearer")
    for header in ("Bearer", "Bearer not.a.jwt", "Basic abc", "Bearer a b"):
        resp = client.get("/api/users/me", headers={"Authorization": header})
        assert resp.status_code == 401 and err(resp) in ("token_invalid", "token_missing"), header
    assert err(client.get("/api/users/me", headers={"Authorization": "Bearer not.a.jwt"})) == "token_invalid"


def test_tampered_wrong_key_and_alg_none_tokens_are_refused(auth, client, app):
    u = auth.user()
    header, payload, sig = u.access.split(".")
    tampered = ".".join([header, payload, sig[:-4] + ("AAAA" if sig[-4:] != "AAAA" else "BBBB")])
    claims = _claims(u.access)
    forged_sub = pyjwt.encode(
        {**claims, "sub": "999"}, "wrong-key-wrong-key-wrong-key-123", algorithm="HS256"
    )
    wrong_key = pyjwt.encode(claims, "another-secret-that-is-long-enough-00", algorithm="HS256")
    alg_none = pyjwt.encode(claims, None, algorithm="none")
    hs512 = pyjwt.encode(claims, app.config["JWT_SECRET_KEY"], algorithm="HS512")
    for token in (tampered, forged_sub, wrong_key, alg_none, hs512):
        resp = client.get("/api/users/me", headers=auth.headers(token))
        assert resp.status_code == 401 and err(resp) == "token_invalid", token


def test_expired_token(auth, client, app):
    u = auth.user()
    claims = _claims(u.access)
    claims["exp"] = int(time.time()) - 10
    expired = pyjwt.encode(claims, app.config["JWT_SECRET_KEY"], algorithm="HS256")
    resp = client.get("/api/users/me", headers=auth.headers(expired))
    assert resp.status_code == 401 and err(resp) == "token_expired"


def test_token_without_session_claims_is_invalid(auth, client, app):
    u = auth.user()
    claims = _claims(u.access)
    del claims["sid"]
    token = pyjwt.encode(claims, app.config["JWT_SECRET_KEY"], algorithm="HS256")
    assert err(client.get("/api/users/me", headers=auth.headers(token))) == "token_invalid"


def test_token_of_a_deleted_user_is_invalid(auth, client, app):
    from app.accounts import user_cache
    from app.accounts.models import User
    from app.extensions import db

    u = auth.user()
    assert client.get("/api/users/me", headers=u.headers).status_code == 200
    with app.app_context():
        db.session.delete(db.session.get(User, u.id))
        db.session.commit()
        user_cache.invalidate(u.id)
    resp = client.get("/api/users/me", headers=u.headers)
    assert resp.status_code == 401 and err(resp) == "token_invalid"


def test_openapi_documents_the_accounts_endpoints(client):
    doc = client.get("/openapi.json").get_json()
    for path in (
        "/api/auth/register",
        "/api/auth/login",
        "/api/auth/refresh",
        "/api/auth/logout",
        "/api/users/me",
        "/api/users/me/password",
        "/api/admin/users",
        "/api/admin/users/{user_id}",
    ):
        assert path in doc["paths"], path
    assert doc["components"]["securitySchemes"]["bearerAuth"]["scheme"] == "bearer"
    login = doc["paths"]["/api/auth/login"]["post"]
    assert {"200", "401", "403", "422", "429"} <= set(login["responses"])


def test_a_remembered_token_still_expires(auth, client, app):
    """The verified-token cache (app/accounts/jwt_adapter.py) re-checks exp on every use."""
    u = auth.user()
    claims = _claims(u.access)
    claims["exp"] = int(time.time()) + 2
    short = pyjwt.encode(claims, app.config["JWT_SECRET_KEY"], algorithm="HS256")
    assert client.get("/api/users/me", headers=auth.headers(short)).status_code == 200
    assert client.get("/api/users/me", headers=auth.headers(short)).status_code == 200  # cached
    time.sleep(2.2)
    resp = client.get("/api/users/me", headers=auth.headers(short))
    assert resp.status_code == 401 and err(resp) == "token_expired"
