"""The contract app/accounts/jwt_adapter.py relies on: it fails on a library upgrade that breaks it."""

from __future__ import annotations

import inspect

import flask_jwt_extended
import jwt as pyjwt
import pytest
from flask_jwt_extended import JWTManager, decode_token, verify_jwt_in_request

from app.accounts.jwt_adapter import CachingJWTManager


def test_the_private_decode_method_still_exists_with_the_parameters_we_override():
    method = getattr(JWTManager, "_decode_jwt_from_config", None)
    assert callable(method), "flask-jwt-extended renamed or removed _decode_jwt_from_config"
    params = list(inspect.signature(method).parameters)
    assert params == ["self", "encoded_token", "csrf_value", "allow_expired"], params
    # Our override must keep the same shape.
    assert list(inspect.signature(CachingJWTManager._decode_jwt_from_config).parameters) == params


def _verified_cache(app):
    return app.extensions.get("jwt_verified")


def test_every_library_decode_goes_through_the_override(app, auth):
    """decode_token and verify_jwt_in_request both land in our method (the cache fills)."""
    user = auth.user()
    with app.test_request_context():
        cache = _verified_cache(app)
        if cache is not None:
            cache.data.clear()
        data = decode_token(user.access)
        assert data["sub"] == str(user.id)
        cache = _verified_cache(app)
        assert cache is not None and len(cache.data) == 1, "decode_token bypassed the override"
        cache.data.clear()
    with app.test_request_context(headers={"Authorization": f"Bearer {user.access}"}):
        verify_jwt_in_request()
        assert len(_verified_cache(app).data) == 1, "verify_jwt_in_request bypassed the override"


def test_a_cached_token_is_still_refused_once_tampered(app, auth, client):
    user = auth.user()
    assert client.get("/api/users/me", headers=auth.headers(user.access)).status_code == 200
    claims = pyjwt.decode(user.access, options={"verify_signature": False})
    forged = pyjwt.encode(
        {**claims, "sub": "1"}, "not-the-secret-but-long-enough-for-hs256-32b", algorithm="HS256"
    )
    resp = client.get("/api/users/me", headers=auth.headers(forged))
    assert resp.status_code == 401
    assert resp.get_json()["error"]["code"] == "token_invalid"


def test_the_library_is_the_one_we_wrote_against():
    # A major version may change the decode path entirely: look again before upgrading.
    major = int(flask_jwt_extended.__version__.split(".")[0])
    if major != 4:
        pytest.fail(f"flask-jwt-extended {flask_jwt_extended.__version__}: re-check jwt_adapter.py")
