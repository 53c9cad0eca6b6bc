"""The admin page's HTML and assets: same-origin only, a CSP that allows nothing inline."""

from __future__ import annotations

import re

SRC = re.compile(r'(?:src|href)="([^"]+)"')


def test_the_page_and_its_assets_are_served_with_a_strict_csp(client):
    page = client.get("/admin/")
    assert page.status_code == 200 and page.mimetype == "text/html"
    csp = page.headers["Content-Security-Policy"]
    assert "script-src 'self';" in csp and "style-src 'self';" in csp and "connect-src 'self';" in csp
    assert "unsafe" not in csp and "http" not in csp
    assert page.headers["X-Frame-Options"] == "DENY" and page.headers["Cache-Control"] == "no-store"
    html = page.get_data(as_text=True)
    # No inline script or style: the CSP would block them, and nothing outside the origin.
    assert re.search(r"<script(?![^>]*\bsrc=)[^>]*>", html) is None
    assert "<style" not in html and " style=" not in html and "on" + "click=" not in html
    assert "//" not in "".join(SRC.findall(html))
    for url in SRC.findall(html):
        if url.startswith("data:"):
            continue
        asset = client.get(url)
        assert asset.status_code == 200, url
        assert asset.headers["X-Content-Type-Options"] == "nosniff"
    assert client.get("/admin/static/admin.js").mimetype == "text/javascript"
    # The script builds the page from text nodes only.
    script = client.get("/admin/static/admin.js").get_data(as_text=True)
    for use in (
        r"\.innerHTML\b",
        r"\.outerHTML\b",
        r"localStorage\.",
        r"sessionStorage\.",
        r"\beval\(",
        r"document\.cookie",
    ):
        assert re.search(use, script) is None, use


def test_bare_admin_redirects_and_unknown_assets_are_json_404s(client):
    resp = client.get("/admin")
    assert resp.status_code == 308 and resp.headers["Location"].endswith("/admin/")
    for path in ("/admin/static/nope.js", "/admin/static/../__init__.py", "/admin/nope"):
        missing = client.get(path)
        assert missing.status_code == 404, path
        assert missing.get_json()["error"]["code"] == "not_found"


def test_the_page_holds_no_data_and_the_api_still_checks_admins(client, auth):
    # The page is public (a sign-in form); every figure comes from the admin API.
    html = client.get("/admin/").get_data(as_text=True)
    assert "Sign in" in html
    user = auth.user()
    assert client.get("/api/admin/analytics", headers=user.headers).status_code == 403
    assert client.get("/api/admin/analytics").status_code == 401
