"""The ``flask_http_request_*`` series, fed in batches by the request aggregate
(app/metrics/series.py): exact after a flush, lagging until then, closed label sets."""

from __future__ import annotations

import time

import pytest
from prometheus_client import CollectorRegistry, Histogram

from app.metrics.request import UNMATCHED
from tests.metrics.test_prometheus import scrape


def histogram(families: dict, rule: str) -> dict:
    """``{"count", "sum", "buckets": {le: cumulative}}`` of one url rule (all methods/statuses)."""
    out: dict = {"count": 0.0, "sum": 0.0, "buckets": {}}
    for s in families["flask_http_request_duration_seconds"].samples:
        if s.labels.get("url_rule") != rule:
            continue
        if s.name.endswith("_bucket"):
            out["buckets"][s.labels["le"]] = out["buckets"].get(s.labels["le"], 0.0) + s.value
        elif s.name.endswith("_count"):
            out["count"] += s.value
        elif s.name.endswith("_sum"):
            out["sum"] += s.value
    return out


def request_totals(families: dict) -> dict:
    return {
        (s.labels["method"], s.labels["status"]): s.value
        for s in families["flask_http_request"].samples
        if s.name == "flask_http_request_total"
    }


@pytest.fixture
def config_overrides():
    # A flusher that never fires by itself: the test decides when a flush happens.
    return {"METRICS_FLUSH_INTERVAL": 3600}


def test_n_requests_show_after_one_flush_and_not_before(app, client, auth):
    agg = app.extensions["request_metrics"]
    user = auth.user()
    agg.flush()  # whatever creating the user counted
    base_totals = request_totals(scrape(client))
    n = 25
    for _ in range(n):
        assert client.get("/api/users/me", headers=user.headers).status_code == 200
    for _ in range(3):
        assert client.get("/no/such/page").status_code == 404

    before = scrape(client)  # counted in memory, not exported yet: the lag is one flush
    assert histogram(before, "/api/users/me")["count"] == 0
    assert request_totals(before) == base_totals

    assert agg.flush()
    after = scrape(client)
    me = histogram(after, "/api/users/me")
    assert me["count"] == n and me["buckets"]["+Inf"] == n and 0 < me["sum"] < 60
    bounds = list(me["buckets"].values())
    assert bounds == sorted(bounds)  # cumulative, as Prometheus expects
    assert set(me["buckets"]) == {*(str(b) for b in Histogram.DEFAULT_BUCKETS[:-1]), "+Inf"}
    assert histogram(after, UNMATCHED)["count"] == 3
    totals = request_totals(after)
    assert totals[("GET", "200")] - base_totals.get(("GET", "200"), 0) == n
    assert totals[("GET", "404")] - base_totals.get(("GET", "404"), 0) == 3
    assert "flask_exporter_info" in after

    client.get("/health")  # never counted, nor is /metrics
    agg.flush()
    again = scrape(client)
    assert request_totals(again) == totals
    assert histogram(again, "/api/users/me")["count"] == n


def test_a_batch_equals_one_observe_per_request(app):
    """The batch export writes the histogram's values directly (prometheus_client has no
    public "observe n"): it must give exactly what observe() gives, bucket edges included."""
    agg = app.extensions["request_metrics"]
    latencies_us = [0, 1, 4_999, 5_000, 5_001, 10_000, 99_999, 100_000, 2_500_000, 10_000_000, 10_000_001]
    minute = int(time.time() // 60)
    for us in latencies_us:
        agg.record(minute, "POST", 201, "/_test/batch", us)
    agg.flush()

    reference = Histogram("ref", "ref", registry=CollectorRegistry())
    for us in latencies_us:
        reference.observe(us / 1_000_000)
    want = {"buckets": {}, "count": 0.0, "sum": 0.0}
    for s in reference.collect()[0].samples:
        if s.name == "ref_bucket":
            want["buckets"][s.labels["le"]] = s.value
        elif s.name in ("ref_count", "ref_sum"):
            want[s.name[4:]] = s.value
    got = histogram(scrape(app.test_client()), "/_test/batch")
    assert got["buckets"] == want["buckets"] and got["count"] == want["count"] == len(latencies_us)
    assert got["sum"] == pytest.approx(want["sum"])


def test_errors_are_500s_and_only_teardown_errors_are_exceptions(app, client):
    """As with the exporter's hooks: a view's exception answered by httpkit's handler is a
    500 in the histogram and the totals; ``flask_http_request_exceptions_total`` counts only
    requests whose error reached teardown (the teardown hook records those as unhandled)."""

    @app.get("/_test/boom")
    def _boom():
        raise RuntimeError("a bug")

    agg = app.extensions["request_metrics"]
    for _ in range(2):
        assert client.get("/_test/boom").status_code == 500
    agg.record(int(time.time() // 60), "POST", 500, "/_test/torn", 1234, unhandled=True)
    agg.flush()
    families = scrape(client)
    exceptions = {
        (s.labels["method"], s.labels["status"]): s.value
        for s in families["flask_http_request_exceptions"].samples
        if s.name.endswith("_total")
    }
    assert exceptions == {("POST", "500"): 1}
    assert histogram(families, "/_test/boom")["count"] == 2
    assert request_totals(families)[("GET", "500")] == 2


def test_a_hostile_stream_does_not_grow_the_label_sets(app, client):
    agg = app.extensions["request_metrics"]
    client.get("/api/users/me")  # 401
    client.get("/nope")  # 404
    client.open("/nope", method="BREW")  # 405, OTHER
    agg.flush()
    before = scrape(client)
    series_before = len(before["flask_http_request_duration_seconds"].samples)

    for i in range(1500):
        path = f"/x{i}/{'y' * (i % 40)}" if i % 3 else "/api/users/me"
        method = ("GET", "POST", "DELETE", f"M{i:05d}X", "BREW")[i % 5]
        client.open(path, method=method)
    assert len(agg._prom) <= 8 * 2 * 3  # in memory: a handful of keys, not 1,500
    agg.flush()
    after = scrape(client)
    samples = after["flask_http_request_duration_seconds"].samples
    assert {s.labels["method"] for s in samples} <= {"GET", "POST", "DELETE", "OTHER"}
    assert {s.labels["url_rule"] for s in samples} == {"/api/users/me", UNMATCHED}
    # at most: 4 methods x 2 rules x 3 statuses, each with 17 samples (15 buckets, count, sum)
    assert len(samples) <= 4 * 2 * 3 * 17
    assert len({tuple(sorted(s.labels.items())) for s in samples if s.name.endswith("_count")}) <= 24
    assert series_before <= len(samples)
    assert sum(request_totals(after).values()) - sum(request_totals(before).values()) == 1500


def test_with_metrics_disabled_metrics_is_served_without_request_series(app, base_config):
    from app import create_app

    off = create_app({**base_config, "METRICS_ENABLED": False})
    client = off.test_client()
    client.get("/openapi.json")
    families = scrape(client)
    assert off.extensions["request_metrics"] is None
    assert not any(name.startswith("flask_http_request") for name in families)
    assert "alpine_metrics_rollup_lag_seconds" in families
