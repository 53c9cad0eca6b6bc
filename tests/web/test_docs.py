"""/docs works offline on both apps: Swagger UI whose every asset the app serves itself."""

from __future__ import annotations

import base64
import hashlib
import re

import pytest

from httpkit import docs

SRC = re.compile(r'(?:src|href)="([^"]+)"')


def _check_docs(client):
    page = client.get("/docs")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "SwaggerUIBundle" in html
    # Nothing the page loads (or points at) is outside the app.
    assert "http://" not in html and "https://" not in html and "//" not in "".join(SRC.findall(html))
    assets = SRC.findall(html)
    assert len(assets) >= 3
    for url in assets:
        assert url.startswith("/docs/assets/"), url
        resp = client.get(url)
        assert resp.status_code == 200, url
        assert len(resp.data) > 1000, url
    # The inline configuration script is allowed by its hash, and only it.
    (inline,) = re.findall(r"<script>(.*?)</script>", html, re.S)
    digest = base64.b64encode(hashlib.sha256(inline.encode()).digest()).decode()
    csp = page.headers["Content-Security-Policy"]
    assert f"script-src 'self' 'sha256-{digest}';" in csp
    assert "unsafe-inline" not in csp.split("style-src")[0] and "http" not in csp
    # The document it renders is served too.
    spec = client.get("/openapi.json")
    assert spec.status_code == 200 and spec.get_json()["paths"]
    return html


def test_alpine_docs_load_offline(client):
    html = _check_docs(client)
    assert '"validatorUrl": null' in html  # no outside validator badge


def test_argo_docs_load_offline(argo_server):
    _check_docs(argo_server.app.test_client())


@pytest.mark.parametrize(
    "name", ["index.html", "swagger-initializer.js", "../__init__.py", "..%2F__init__.py", "x" * 5000]
)
def test_only_the_pages_own_assets_are_served(client, name):
    resp = client.get(docs.ASSETS_URL + name)
    assert resp.status_code == 404
    assert resp.get_json()["error"]["code"] == "not_found"
