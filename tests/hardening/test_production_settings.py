"""Production settings both services share: security headers on every response
(errors included), a strict CSP except on the docs page, no CORS unless configured,
no debug, and no stack trace in a production 500. Alpine's side is covered in
tests/test_http_security.py and tests/test_config.py; this adds Argo and the rest."""

from __future__ import annotations

import pytest

from app import create_app
from argo_app import create_app as create_argo
from tests.hardening.helpers import assert_envelope


@pytest.fixture
def argo_factory(tmp_path):
    made = []

    def make(**config):
        app = create_argo({"ARGO_DB_PATH": str(tmp_path / "argo.db"), **config})
        made.append(app)
        return app

    yield make
    for app in made:
        app.extensions["argo_store"].close_all()


def security_headers_ok(resp):
    assert resp.headers["X-Content-Type-Options"] == "nosniff"
    assert resp.headers["X-Frame-Options"] == "DENY"
    assert resp.headers["Referrer-Policy"] == "no-referrer"
    assert "frame-ancestors 'none'" in resp.headers["Content-Security-Policy"]


def test_argo_sends_security_headers_on_every_response(argo_factory):
    client = argo_factory().test_client()
    for path, status in (
        ("/health", 200),
        ("/api/signals/latest", 200),
        ("/openapi.json", 200),
        ("/api/signals/latest?limit=0", 422),
        ("/nope", 404),
        ("/api/signals/" + "0" * 64, 404),
    ):
        resp = client.get(path)
        assert resp.status_code == status, path
        security_headers_ok(resp)
        assert resp.headers["Content-Security-Policy"].startswith("default-src 'none'")
        assert "Strict-Transport-Security" not in resp.headers  # plain HTTP
    assert (
        client.get("/health", base_url="https://localhost")
        .headers["Strict-Transport-Security"]
        .startswith("max-age=")
    )
    docs = client.get("/docs")
    assert docs.status_code == 200 and "script-src 'self' 'sha256-" in docs.headers["Content-Security-Policy"]


def test_argo_cors_is_off_unless_configured(argo_factory, monkeypatch):
    resp = argo_factory().test_client().get("/api/signals/latest", headers={"Origin": "https://evil.example"})
    assert "Access-Control-Allow-Origin" not in resp.headers
    monkeypatch.setenv("CORS_ORIGINS", "https://app.example")
    client = argo_factory().test_client()
    ok = client.get("/health", headers={"Origin": "https://app.example"})
    assert ok.headers.get("Access-Control-Allow-Origin") == "https://app.example"
    evil = client.get("/health", headers={"Origin": "https://evil.example"})
    assert "Access-Control-Allow-Origin" not in evil.headers


def test_alpine_production_config_has_no_debug_and_hides_tracebacks(_schema, base_config):
    # METRICS_ENABLED off: production flushes counters from a background thread every
    # second, which would land in whatever Redis the *next* test's app points at.
    app = create_app({**base_config, "APP_ENV": "production", "METRICS_ENABLED": False})
    assert app.debug is False and app.testing is False
    assert app.config["MAX_CONTENT_LENGTH"] == 64 * 1024
    assert app.config["JWT_DECODE_ALGORITHMS"] == ["HS256"]

    @app.get("/_boom")
    def boom():
        raise RuntimeError("secret internals /etc/passwd")

    resp = app.test_client().get("/_boom")
    err = assert_envelope(resp, 500, "internal_error")
    assert "passwd" not in resp.get_data(as_text=True) and "Traceback" not in resp.get_data(as_text=True)
    assert set(err["details"]) == {"request_id"}
    security_headers_ok(resp)
    # And the error responses of a real route too.
    security_headers_ok(app.test_client().get("/api/users/me"))
