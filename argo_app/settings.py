"""Argo's configuration: defaults, then environment, then the caller's dict."""
from __future__ import annotations

import os
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent


def load_config(overrides: dict | None = None) -> dict:
    config = {
        # SPEC: ARGO_DB_PATH is honoured when set; default instance/argo.db.
        "ARGO_DB_PATH": os.environ.get("ARGO_DB_PATH") or str(REPO_ROOT / "instance" / "argo.db"),
        "ARGO_API_KEY": os.environ.get("ARGO_API_KEY") or None,
        # Comma-separated allowed origins; CORS stays off when unset (http_security.py).
        "CORS_ORIGINS": os.environ.get("CORS_ORIGINS") or None,
        "MAX_CONTENT_LENGTH": 64 * 1024,
        "JSON_SORT_KEYS": False,
        # flask-smorest / OpenAPI
        "API_TITLE": "Argo",
        "API_VERSION": "1.0",
        "OPENAPI_VERSION": "3.0.3",
        "OPENAPI_URL_PREFIX": "/",
        "OPENAPI_JSON_PATH": "openapi.json",
        "OPENAPI_REDOC_PATH": "/docs",
        "OPENAPI_REDOC_URL": "https://cdn.jsdelivr.net/npm/redoc@2/bundles/redoc.standalone.js",
    }
    config.update(overrides or {})
    return config
