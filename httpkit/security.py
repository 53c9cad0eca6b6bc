"""Security headers and CORS policy, shared by both services (like http_errors).

- Every response: ``X-Content-Type-Options: nosniff``, ``X-Frame-Options: DENY``,
  ``Referrer-Policy: no-referrer`` and a Content-Security-Policy that allows
  nothing (the API serves JSON) — except the docs page (httpkit/docs.py), whose
  scripts are same-origin files and its one inline script by hash.
- ``Strict-Transport-Security`` only when the request arrived over TLS (directly
  or, with ``ProxyFix`` configured by the deployer, behind a TLS proxy): HSTS on
  plain HTTP is ignored by browsers and would only confuse.
- CORS is off unless ``CORS_ORIGINS`` names the allowed origins (comma-separated).
"""

from __future__ import annotations

from flask import Flask, Response, request

from httpkit import docs

API_CSP = "default-src 'none'; frame-ancestors 'none'"
HSTS = "max-age=31536000; includeSubDomains"
_STATIC_HEADERS = (
    ("X-Content-Type-Options", "nosniff"),
    ("X-Frame-Options", "DENY"),
    ("Referrer-Policy", "no-referrer"),
)
# For a blueprint that serves pages with a CSP of its own: it sets these and
# its CSP, and the hook below then leaves the response alone.
STATIC_HEADERS = _STATIC_HEADERS


def _docs_path(app: Flask) -> str | None:
    return app.config.get("OPENAPI_SWAGGER_UI_PATH")


def init_app(app: Flask) -> None:
    docs_path = _docs_path(app)

    @app.after_request
    def _security_headers(resp: Response) -> Response:
        headers = resp.headers
        # Views never set these themselves, so append them in one go: four
        # setdefault() calls (each scans the header list) took ~2.5x as long.
        if "X-Content-Type-Options" not in headers:
            if docs_path and request.path == docs_path and resp.status_code == 200:
                csp = docs.csp(resp.get_data())
            else:
                csp = API_CSP
            headers.extend(_STATIC_HEADERS + (("Content-Security-Policy", csp),))
        if request.is_secure:
            headers.setdefault("Strict-Transport-Security", HSTS)
        return resp

    origins = app.config.get("CORS_ORIGINS")
    if origins:
        from flask_cors import CORS

        if isinstance(origins, str):
            origins = [o.strip() for o in origins.split(",") if o.strip()]
        CORS(
            app,
            origins=origins,
            expose_headers=["X-Request-ID", "Retry-After", "X-RateLimit-Limit", "X-RateLimit-Remaining"],
        )
