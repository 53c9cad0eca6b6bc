"""Fixtures shared by the feed tests (tests/feed): the real
Argo (tests/conftest.py argo_server) behind a recorder, an Alpine app pointed
at it, and users of each tier. Each of those conftests imports them."""

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
def tier_headers(auth):
    """``tier_headers("pro")`` -> Authorization headers of a new user of that
    tier (the Accounts ``auth`` fixture: created and logged in via the service)."""

    def make(tier: str = "starter") -> dict:
        return auth.user(tier=tier).headers

    return make
