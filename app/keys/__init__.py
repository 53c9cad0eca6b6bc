"""API keys for bots: ``alp_...`` keys that act as their owner.

* keygen.py   -- the key string, its prefix and its SHA-256;
* models.py   -- the ``api_keys`` table (hash only);
* service.py  -- create (10 per user), list, revoke, and the request-path lookup;
* auth.py     -- the ``before_request`` hook that authenticates a key and its scope;
* usage.py    -- requests per key per day, ``last_used_at`` once a minute;
* views.py    -- /api/keys.
"""

from __future__ import annotations

from flask import Flask

API_KEY_SCHEME = "apiKeyAuth"
KEY_OR_BEARER: list[dict[str, list[str]]] = [{"bearerAuth": []}, {API_KEY_SCHEME: []}]


def init_app(app: Flask) -> None:
    from app.extensions import api
    from app.keys import auth, usage

    usage.init_app(app)
    auth.init_app(app)
    if API_KEY_SCHEME not in api.spec.components.security_schemes:
        api.spec.components.security_scheme(
            API_KEY_SCHEME,
            {
                "type": "apiKey",
                "in": "header",
                "name": "X-API-Key",
                "description": "An API key (alp_...); also accepted as 'Authorization: Bearer alp_...'.",
            },
        )
