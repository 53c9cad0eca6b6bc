"""The counting hook: what a request leaves in Redis, and the rollup into SQL."""

from __future__ import annotations

import pytest
from flask import g
from sqlalchemy import select

from app.accounts.request_auth import set_caller
from app.accounts.user_cache import CurrentUser
from app.extensions import db
from app.metrics import keys
from app.metrics.models import RequestMetricMinute, RollupBatch, SignalDeliveryDaily
from app.metrics.request import UNMATCHED
from app.metrics.rollup import run_rollup
from tests.metrics.helpers import redis_requests, sql_delivered, sql_requests


@pytest.fixture
def app(app):
    # A view like the feed's: says how many signals it returned, for the JWT's user.
    @app.get("/_test/deliver/<int:n>")
    def _deliver(n):
        set_caller(CurrentUser(7, "u7@example.com", "U", "pro", True, True, False, None, 0))
        g.signals_delivered = n
        return {"delivered": n}

    @app.get("/_test/boom")
    def _boom():
        raise RuntimeError("a bug")

    return app


def test_requests_are_counted_by_rule_method_and_status_class(app, client, redis_client):
    for _ in range(5):
        assert client.get("/openapi.json").status_code == 200
    for path in ("/nope", "/also/nope"):
        assert client.get(path).status_code == 404
    assert client.get("/_test/boom").status_code == 500
    for _ in range(3):  # neither is counted
        client.get("/health")
        client.get("/metrics")

    fields = {}
    for minute in redis_client.zrange(keys.MINUTE_INDEX, 0, -1):
        for field, value in redis_client.hgetall(keys.minute_key(int(minute))).items():
            fields[field] = fields.get(field, 0) + int(value)
    requests = {f: v for f, v in fields.items() if f.startswith("r|")}
    assert requests == {"r|GET|2|/openapi.json": 5, f"r|GET|4|{UNMATCHED}": 2, "r|GET|5|/_test/boom": 1}
    assert all(fields[f"l{f[1:]}"] > 0 for f in requests)  # latency sums, µs


def test_rollup_moves_exactly_what_was_counted(app, client, redis_client):
    for _ in range(7):
        client.get("/openapi.json")
    client.get("/_test/deliver/4")
    client.get("/_test/deliver/6")
    client.get("/nope")

    result = run_rollup(include_open=True)
    assert (result.requests, result.deliveries) == (10, 10)
    assert redis_requests(redis_client) == 0
    assert redis_client.zcard(keys.MINUTE_INDEX) == 0
    assert redis_client.scard(keys.PROCESSING_SET) == 0

    assert sql_requests("/openapi.json") == 7
    assert sql_requests("/_test/deliver/<int:n>") == 2  # the rule, not the raw path
    assert sql_requests(UNMATCHED) == 1
    assert sql_delivered(7) == 10
    rows = db.session.execute(select(RequestMetricMinute)).scalars().all()
    for row in rows:
        assert row.minute.second == 0 and row.hour.minute == 0
        assert row.day == row.minute.date() and row.latency_us > 0
    assert {r.status_class for r in rows} == {2, 4}
    assert db.session.execute(select(SignalDeliveryDaily.user_id)).scalars().all() == [7]
    assert db.session.query(RollupBatch).count() == result.batches >= 1

    # Nothing left: a second run adds nothing.
    again = run_rollup(include_open=True)
    assert (again.batches, again.requests) == (0, 0)
    assert sql_requests() == 10


def test_open_minutes_wait_for_the_grace_period(app, client, redis_client):
    client.get("/openapi.json")
    assert run_rollup().batches == 0  # the current minute is still open
    assert redis_requests(redis_client) == 1 and sql_requests() == 0


@pytest.mark.parametrize("config_overrides", [{"METRICS_ENABLED": False}])
def test_disabled_hook_counts_nothing(app, client, redis_client, config_overrides):
    client.get("/openapi.json")
    assert redis_client.zcard(keys.MINUTE_INDEX) == 0


def test_cli_rollup(app, client):
    for _ in range(3):
        client.get("/openapi.json")
    result = app.test_cli_runner().invoke(args=["metrics", "rollup", "--include-open"])
    assert result.exit_code == 0, result.output
    assert "3 request(s)" in result.output
    assert sql_requests("/openapi.json") == 3


@pytest.mark.parametrize("config_overrides", [{"REDIS_URL": "redis://127.0.0.1:1/0"}])
def test_cli_rollup_without_redis_fails_clearly(app, config_overrides):
    result = app.test_cli_runner().invoke(args=["metrics", "rollup"])
    assert result.exit_code != 0
    assert "Redis is unavailable" in result.output
