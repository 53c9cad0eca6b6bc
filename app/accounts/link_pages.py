"""The pages the mail links open: GET /verify-email?token=... and /reset-password?token=...

``PUBLIC_URL`` names where these live. In production that is usually the
product's own front end; Alpine serves these two minimal pages so the links
work out of the box (``./run``). Opening a link changes nothing (mail
scanners prefetch links): the page's button or form POSTs the token to the
JSON API. Tokens never reach a log line here (the query string stays in the
browser; ``Referrer-Policy: no-referrer`` keeps it out of other sites' logs).
"""

from __future__ import annotations

from flask import Blueprint, Flask, Response, render_template

from httpkit.security import STATIC_HEADERS

PAGE_CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; "
    "base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
)

blp = Blueprint(
    "account_pages",
    __name__,
    template_folder="templates",
    static_folder="static",
    static_url_path="/account-pages/static",
)


@blp.get("/verify-email")
def verify_email_page() -> str:
    return render_template("account_pages/verify_email.html")


@blp.get("/reset-password")
def reset_password_page() -> str:
    return render_template("account_pages/reset_password.html")


@blp.after_request
def _page_headers(resp: Response) -> Response:
    # Set here, so the app-wide hook (httpkit/security.py) keeps this CSP.
    if "X-Content-Type-Options" not in resp.headers:
        resp.headers.extend(STATIC_HEADERS + (("Content-Security-Policy", PAGE_CSP),))
    resp.headers["Cache-Control"] = "no-store"
    return resp


def init_app(app: Flask) -> None:
    app.register_blueprint(blp)
