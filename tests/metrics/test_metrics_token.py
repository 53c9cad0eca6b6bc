"""/metrics behind a bearer token (METRICS_TOKEN), and the production warning without one."""

from __future__ import annotations

import logging

import pytest

from tests.hardening.helpers import assert_envelope

TOKEN = "scrape-token-0123456789-abcdefghij"


@pytest.fixture
def config_overrides():
    return {"METRICS_TOKEN": TOKEN}


@pytest.mark.parametrize("header", [None, "", "Bearer", "Bearer   ", f"Basic {TOKEN}", TOKEN])
def test_metrics_without_a_bearer_token_is_401_token_missing(client, header):
    headers = {} if header is None else {"Authorization": header}
    resp = client.get("/metrics", headers=headers)
    assert_envelope(resp, 401, "token_missing")
    assert "flask_http_request" not in resp.get_data(as_text=True)
    assert resp.headers["WWW-Authenticate"].startswith("Bearer")


@pytest.mark.parametrize("given", ["wrong", TOKEN[:-1], TOKEN + "x", TOKEN.upper(), "é" * 40, "x" * 5000])
def test_metrics_with_a_wrong_token_is_401_token_invalid(client, given):
    resp = client.get("/metrics", headers={"Authorization": f"Bearer {given}"})
    assert_envelope(resp, 401, "token_invalid")


def test_metrics_with_the_token_is_served(client):
    client.get("/openapi.json")
    resp = client.get("/metrics", headers={"Authorization": f"bearer {TOKEN}"})
    assert resp.status_code == 200 and "flask_http_request_total" in resp.get_data(as_text=True)


def test_the_token_comes_from_the_environment(app, base_config, monkeypatch):
    from app import create_app

    monkeypatch.setenv("METRICS_TOKEN", "from-the-environment-0123456789")
    env_app = create_app(dict(base_config))
    client = env_app.test_client()
    assert_envelope(client.get("/metrics"), 401, "token_missing")
    ok = client.get("/metrics", headers={"Authorization": "Bearer from-the-environment-0123456789"})
    assert ok.status_code == 200


@pytest.mark.parametrize("token, warned", [(None, True), (TOKEN, False)])
def test_production_warns_at_start_without_a_token(app, base_config, caplog, token, warned):
    from app import create_app

    overrides = {**base_config, "APP_ENV": "production", "METRICS_TOKEN": token}
    with caplog.at_level(logging.WARNING, logger="app.metrics.prometheus"):
        prod = create_app(overrides)
    assert ("METRICS_TOKEN is not set" in caplog.text) is warned
    assert prod.test_client().get("/metrics").status_code == (200 if warned else 401)


def test_other_configs_do_not_warn(app, base_config, caplog):
    from app import create_app

    with caplog.at_level(logging.WARNING, logger="app.metrics.prometheus"):
        create_app(dict(base_config))
    assert "METRICS_TOKEN" not in caplog.text
