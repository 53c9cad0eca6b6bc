"""Security headers on every response; CORS only when configured."""

import pytest

from app import create_app


def test_api_responses_carry_security_headers(client):
    resp = client.get("/health")
    assert resp.headers["X-Content-Type-Options"] == "nosniff"
    assert resp.headers["X-Frame-Options"] == "DENY"
    assert "default-src 'none'" in resp.headers["Content-Security-Policy"]
    # Plain HTTP: no HSTS (browsers ignore it there).
    assert "Strict-Transport-Security" not in resp.headers
    # Errors too.
    assert client.get("/nope").headers["X-Content-Type-Options"] == "nosniff"


def test_docs_page_may_load_its_own_assets_and_nothing_else(client):
    resp = client.get("/docs")
    assert resp.status_code == 200
    csp = resp.headers["Content-Security-Policy"]
    assert "script-src 'self' 'sha256-" in csp and "frame-ancestors 'none'" in csp
    assert "http" not in csp and "unsafe-inline' " not in csp.split("style-src")[0]


def test_hsts_behind_tls(client):
    resp = client.get("/health", base_url="https://localhost")
    assert resp.headers["Strict-Transport-Security"].startswith("max-age=")


def test_cors_is_off_by_default(client):
    resp = client.get("/health", headers={"Origin": "https://evil.example"})
    assert "Access-Control-Allow-Origin" not in resp.headers


@pytest.mark.parametrize("origin, allowed", [("https://app.example", True), ("https://evil.example", False)])
def test_cors_allows_only_configured_origins(_schema, base_config, origin, allowed):
    app = create_app({**base_config, "CORS_ORIGINS": "https://app.example"})
    resp = app.test_client().get("/health", headers={"Origin": origin})
    assert (resp.headers.get("Access-Control-Allow-Origin") == origin) is allowed
