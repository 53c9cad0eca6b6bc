"""Security headers and CORS policy, shared by both services (like http_errors).

- Every response: ``X-Content-Type-Options: nosniff``, ``X-Frame-Options: DENY``,
  ``Referrer-Policy: no-referrer`` and a Content-Security-Policy that allows
  nothing (the API serves JSON) — except the docs page, which may load the
  ReDoc bundle from its CDN.
- ``Strict-Transport-Security`` only when the request arrived over TLS (directly
  or, with ``ProxyFix`` configured by the deployer, behind a TLS proxy): HSTS on
  plain HTTP is ignored by browsers and would only confuse.
- CORS is off unless ``CORS_ORIGINS`` names the allowed origins (comma-separated).
"""

from __future__ import annotations

from flask import Flask, request

API_CSP = "default-src 'none'; frame-ancestors 'none'"
DOCS_CSP = (
    "default-src 'none'; script-src 'self' 'unsafe-inline' https://cdn.jsdelivr.net; "
    "style-src 'self' 'unsafe-inline' https://fonts.googleapis.com; "
    "font-src https://fonts.gstatic.com; img-src 'self' data: https://cdn.redoc.ly; "
    "worker-src blob:; connect-src 'self'; frame-ancestors 'none'"
)
HSTS = "max-age=31536000; includeSubDomains"
_STATIC_HEADERS = (
    ("X-Content-Type-Options", "nosniff"),
    ("X-Frame-Options", "DENY"),
    ("Referrer-Policy", "no-referrer"),
)


def _docs_path(app: Flask) -> str | None:
    return app.config.get("OPENAPI_REDOC_PATH")


def init_app(app: Flask) -> None:
    docs_path = _docs_path(app)

    @app.after_request
    def _security_headers(resp):
        headers = resp.headers
        # Views never set these themselves, so append them in one go: four
        # setdefault() calls (each scans the header list) took ~2.5x as long.
        if "X-Content-Type-Options" not in headers:
            csp = DOCS_CSP if docs_path and request.path == docs_path else API_CSP
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
