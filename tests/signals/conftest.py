"""Fixtures for the feed tests: the real Argo (tests/conftest.py argo_server)
behind a recorder, an Alpine app pointed at it, and users of each tier."""
from __future__ import annotations

import pytest

from tests.feed_helpers import ArgoRecorder


@pytest.fixture
def argo(argo_server):
    """argo_server with an ArgoRecorder in front (``argo.recorder``) and a
    ``store`` shortcut to Argo's own SignalStore."""
    argo_server.recorder = ArgoRecorder(argo_server.app.wsgi_app)
    argo_server.app.wsgi_app = argo_server.recorder
    argo_server.store = argo_server.app.extensions["argo_store"]
    return argo_server


@pytest.fixture
def feed_app(app, argo):
    # Before the first request: the Argo client reads its settings lazily.
    app.config["ARGO_URL"] = argo.url
    return app


@pytest.fixture
def tier_headers(app):
    """``tier_headers("pro")`` -> Authorization headers of a new user of that
    tier, with a token from the Accounts service (issue_tokens)."""
    from app.extensions import db
    from app.models.user import User
    from app.services.tokens import issue_tokens
    from tests.feed_helpers import unique_email

    def make(tier: str = "starter") -> dict:
        with app.app_context():
            # No password hashing needed here: these users never log in.
            user = User(email=unique_email(tier), password_hash="!unusable", tier=tier)
            db.session.add(user)
            db.session.commit()
            token = issue_tokens(user)["access_token"]
        return {"Authorization": f"Bearer {token}"}

    return make
