"""Each rollup invalidates the admin analytics cache: the 300 s cache is a ceiling, not a delay."""

from __future__ import annotations

from app.metrics.analytics import ANALYTICS_CACHE_KEY
from app.metrics.rollup import run_rollup


def analytics(client, headers):
    resp = client.get("/api/admin/analytics", headers=headers)
    assert resp.status_code == 200
    return resp.get_json()


def test_requests_show_up_after_the_next_rollup_not_after_the_cache_expires(app, client, auth, redis_client):
    admin = auth.admin()
    first = analytics(client, admin.headers)
    assert first["api_requests_today"] == 0
    key = app.config["CACHE_KEY_PREFIX"] + ANALYTICS_CACHE_KEY
    assert redis_client.ttl(key) > 200  # cached for minutes

    for _ in range(4):
        client.get("/openapi.json")
    assert client.get("/api/no-such-thing").status_code == 404
    # Before a rollup the figures are the cached ones.
    assert analytics(client, admin.headers) == first

    run_rollup(include_open=True)
    assert not redis_client.exists(key)
    fresh = analytics(client, admin.headers)
    # The four docs fetches, the 404 and the two analytics reads before the rollup.
    assert fresh["api_requests_today"] == 7
    assert fresh["generated_at"] > first["generated_at"]


def test_a_rollup_with_nothing_to_do_still_leaves_fresh_figures(app, client, auth):
    admin = auth.admin()
    before = analytics(client, admin.headers)
    auth.create_user()  # a new user: not a request, so no rollup rows
    run_rollup()
    assert analytics(client, admin.headers)["total_users"] == before["total_users"] + 1
