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


def test_the_header_is_read_right_after_the_full_verification_of_the_same_token():
    """jwt_adapter.known_headers skips re-validating a token's other segments: only
    sound while the library reads the header after decode_token() of that token."""
    from flask_jwt_extended import utils, view_decorators

    assert callable(getattr(utils, "get_unverified_jwt_headers", None))
    source = inspect.getsource(view_decorators._decode_jwt_from_request)
    verify = source.index("decoded_token = decode_token(encoded_token")
    header = source.index("get_unverified_jwt_headers(encoded_token)")
    assert verify < header, "flask-jwt-extended now reads the header before verifying"
    assert source.count("get_unverified_jwt_headers(") == 1


def test_the_header_memo_answers_the_real_header_and_stays_bounded(app, auth):
    from flask_jwt_extended import get_jwt_header, view_decorators

    from app.accounts import jwt_adapter

    assert view_decorators.get_unverified_jwt_headers is jwt_adapter.known_headers
    user = auth.user()
    for _ in range(2):  # a miss, then a hit
        with app.test_request_context(headers={"Authorization": f"Bearer {user.access}"}):
            verify_jwt_in_request()
            assert get_jwt_header() == pyjwt.get_unverified_header(user.access)
    for n in range(200):  # made-up headers: never more than HEADERS_MAX remembered
        token = pyjwt.encode({"n": n}, "k" * 32, algorithm="HS256", headers={"kid": str(n)})
        assert jwt_adapter.known_headers(token)["kid"] == str(n)
    assert len(jwt_adapter._headers) <= jwt_adapter.HEADERS_MAX
