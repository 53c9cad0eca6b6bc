"""Argo's configuration: defaults, then environment, then the caller's dict.

``APP_ENV=production`` (the same variable Alpine reads) makes Argo refuse to
start without a strong ``ARGO_API_KEY``: in production its API is never open.
"""

from __future__ import annotations

import os

from httpkit import docs
from instance_files import instance_dir
from secret_strength import secret_problem


def load_config(overrides: dict | None = None) -> dict:
    config = {
        "APP_ENV": (os.environ.get("APP_ENV") or "development").lower(),
        # ARGO_DB_PATH is honoured when set; default <instance>/argo.db.
        "ARGO_DB_PATH": os.environ.get("ARGO_DB_PATH") or str(instance_dir() / "argo.db"),
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
        # Swagger UI at /docs with its assets served by Argo itself (httpkit/docs.py).
        **docs.settings(),
    }
    config.update(overrides or {})
    if config["APP_ENV"] == "production":
        problem = secret_problem("ARGO_API_KEY", config.get("ARGO_API_KEY"))
        if problem:
            raise RuntimeError(f"refusing to start in production: {problem}")
    return config
