"""Optional shared API key for /api/* (set ARGO_API_KEY to turn it on)."""

from __future__ import annotations

import hmac

from flask import Flask, request

from httpkit.errors import APIError


def install_api_key_check(app: Flask) -> None:
    key = app.config.get("ARGO_API_KEY")
    if not key:
        return  # open by default; nothing added to the hot path

    expected = key.encode()

    @app.before_request
    def _require_api_key():
        if not request.path.startswith("/api/"):
            return None
        given = request.headers.get("X-API-Key", "").encode()
        if not hmac.compare_digest(given, expected):
            raise APIError(
                401,
                "api_key_invalid" if given else "api_key_missing",
                "A valid X-API-Key header is required.",
            )
        return None
