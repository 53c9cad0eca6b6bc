"""/metrics in one process (tests, dev server): parses, and exports the app's own metrics."""

from __future__ import annotations

from prometheus_client.parser import text_string_to_metric_families

from app.metrics import keys


def scrape(client) -> dict:
    resp = client.get("/metrics")
    assert resp.status_code == 200
    assert resp.headers["Content-Type"].startswith("text/plain")
    return {f.name: f for f in text_string_to_metric_families(resp.get_data(as_text=True))}


def test_exports_request_and_app_metrics(app, client, auth, redis_client):
    user = auth.user()
    for _ in range(3):
        assert client.get("/api/users/me", headers=user.headers).status_code == 200
    client.get("/health")  # not counted by either counter
    families = scrape(client)

    durations = [
        s for s in families["flask_http_request_duration_seconds"].samples if s.name.endswith("_count")
    ]
    assert {s.labels["url_rule"]: s.value for s in durations} == {"/api/users/me": 3.0}
    for name in (
        "alpine_user_cache_lookups",
        "alpine_metrics_dropped_increments",
        "alpine_metrics_buffered_keys",
        "alpine_metrics_rollup_lag_seconds",
        "alpine_argo_breaker_state",
        "alpine_signals_rejected",
    ):
        assert name in families, name
    cache = {
        s.labels["result"]: s.value
        for s in families["alpine_user_cache_lookups"].samples
        if s.name.endswith("_total")
    }
    assert sum(cache.values()) >= 3


def test_rollup_lag_is_the_age_of_the_oldest_minute_in_redis(app, client, redis_client):
    import time

    assert scrape(client)["alpine_metrics_rollup_lag_seconds"].samples[0].value == 0
    old = int(time.time() // 60) - 10  # a minute that ended ~9-10 minutes ago, not rolled up
    redis_client.hincrby(keys.minute_key(old), "r|GET|2|/x", 1)
    redis_client.zadd(keys.MINUTE_INDEX, {str(old): old})
    lag = scrape(client)["alpine_metrics_rollup_lag_seconds"].samples[0].value
    assert 9 * 60 - 1 <= lag <= 10 * 60 + 1


def test_scrape_survives_redis_being_down(app, client):
    app.extensions["redis"]._settings["url"] = "redis://127.0.0.1:1/0"
    app.extensions["redis"]._client = None
    families = scrape(client)
    assert families["alpine_metrics_redis_up"].samples[0].value == 0
