"""Signals returned by the real feed are counted per user, end to end."""

from __future__ import annotations

import pytest

from app.metrics.rollup import run_rollup
from tests.feed_helpers import crafted
from tests.metrics.helpers import sql_delivered, sql_requests

URL = "/api/signals/latest"


@pytest.fixture
def feed_app(app, argo_server):
    app.config["ARGO_URL"] = argo_server.url  # before the first request
    argo_server.app.extensions["argo_store"].insert_many(crafted(40))
    return app


def test_deliveries_per_user_reach_sql_and_analytics(feed_app, client, auth):
    pro, elite, admin = auth.user(tier="pro"), auth.user(tier="elite"), auth.admin()
    for headers, limit in ((pro.headers, 7), (elite.headers, 12), (pro.headers, 3)):
        body = client.get(URL, query_string={"limit": limit}, headers=headers).get_json()
        assert body["count"] == limit
    assert client.get(URL).status_code == 401  # counted as a request, delivers nothing

    run_rollup(include_open=True)
    assert sql_delivered(pro.id) == 10 and sql_delivered(elite.id) == 12
    assert sql_delivered() == 22
    assert sql_requests(URL) == 4
    data = client.get("/api/admin/analytics", headers=admin.headers).get_json()
    assert data["signals_delivered_today"] == 22
