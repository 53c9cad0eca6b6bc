"""Offline API docs for both apps: Swagger UI at /docs, its assets served by the app itself.

The assets come from the ``swagger-ui-bundle`` PyPI package (Swagger UI's own
dist files), so /docs works with no network. flask-smorest renders the page
(``OPENAPI_SWAGGER_UI_*`` settings below); this module serves the few files
that page loads under ``/docs/assets/`` and builds the page's CSP: same-origin
scripts plus the SHA-256 of the page's one inline (configuration) script, so
no other inline script can run there.
"""

from __future__ import annotations

import base64
import hashlib
import re

from flask import Blueprint, Flask, Response, abort, send_from_directory

DOCS_PATH = "/docs"
ASSETS_URL = "/docs/assets/"
# Only what the page loads (not the package's demo index.html, which points at
# an outside petstore).
ASSETS = frozenset(
    {
        "swagger-ui.css",
        "swagger-ui-bundle.js",
        "swagger-ui-standalone-preset.js",
        "favicon-16x16.png",
        "favicon-32x32.png",
    }
)
ASSET_MAX_AGE = 24 * 3600

_INLINE_SCRIPT = re.compile(rb"<script>(.*?)</script>", re.S)


def settings() -> dict:
    """The flask-smorest settings that put Swagger UI at /docs, loading from ``ASSETS_URL``."""
    return {
        "OPENAPI_SWAGGER_UI_PATH": DOCS_PATH,
        "OPENAPI_SWAGGER_UI_URL": ASSETS_URL,
        # validatorUrl None: Swagger UI would otherwise send the document to an
        # outside validator service and show its badge.
        "OPENAPI_SWAGGER_UI_CONFIG": {"validatorUrl": None, "deepLinking": True},
    }


def assets_dir() -> str:
    # Imported when an asset is asked for, not at app creation: a venv without
    # the package still starts (only the docs page lacks its assets).
    import swagger_ui_bundle

    return swagger_ui_bundle.swagger_ui_path


def init_app(app: Flask) -> None:
    """Serve the Swagger UI assets. Call with the app whose config has ``settings()``."""
    blp = Blueprint("docs_assets", __name__)

    @blp.get(ASSETS_URL + "<name>")
    def docs_asset(name: str) -> Response:
        if name not in ASSETS:
            abort(404)
        return send_from_directory(assets_dir(), name, max_age=ASSET_MAX_AGE)

    # Browsers ask every origin for /favicon.ico; the docs page names none, and a
    # 404 there is an error in its console.
    @blp.get("/favicon.ico")
    def favicon() -> Response:
        return send_from_directory(
            assets_dir(), "favicon-32x32.png", max_age=ASSET_MAX_AGE, mimetype="image/png"
        )

    app.register_blueprint(blp)


def csp(page: bytes) -> str:
    """The CSP of a rendered docs page: its own inline scripts by hash, everything else same-origin."""
    hashes = " ".join(
        "'sha256-" + base64.b64encode(hashlib.sha256(body).digest()).decode() + "'"
        for body in _INLINE_SCRIPT.findall(page)
    )
    return (
        f"default-src 'none'; script-src 'self' {hashes}; "
        # Swagger UI (React) sets style attributes on its elements.
        "style-src 'self' 'unsafe-inline'; img-src 'self' data:; connect-src 'self'; "
        "base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
    )
