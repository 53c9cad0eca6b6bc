"""The admin web page at /admin/: one HTML page, its script and stylesheet, all served here.

The page is a thin client of the JSON API (/api/auth/*, /api/admin/*): it signs
in with email and password, keeps the tokens in memory only (never in storage
or cookies, so a reload signs out), refreshes the access token before it
expires, and every admin check stays on the server. Its CSP allows only this
origin's scripts, styles and requests; the charts are SVG drawn by admin.js,
so there is no third-party code at all.
"""

from __future__ import annotations

from flask import Blueprint, Flask, Response, render_template

from httpkit.security import STATIC_HEADERS

PAGE_CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
)

blp = Blueprint(
    "web",
    __name__,
    url_prefix="/admin",
    template_folder="templates",
    static_folder="static",
    static_url_path="/static",
)


@blp.get("/")
def admin_page() -> str:
    return render_template("web/admin.html")


@blp.after_request
def _page_headers(resp: Response) -> Response:
    # Set here, so the app-wide hook (httpkit/security.py), which skips responses
    # that already carry them, keeps this CSP instead of the API's "allow nothing".
    if "X-Content-Type-Options" not in resp.headers:
        resp.headers.extend(STATIC_HEADERS + (("Content-Security-Policy", PAGE_CSP),))
    if resp.mimetype == "text/html":
        resp.headers["Cache-Control"] = "no-store"
    return resp


def init_app(app: Flask) -> None:
    app.register_blueprint(blp)
