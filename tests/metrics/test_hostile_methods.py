"""Hostile methods and paths: a closed set of labels, 405 JSON, and a rollup nobody can block.

Two anonymous requests with made-up 17-character methods used to truncate to
the same ``String(16)`` key, make PostgreSQL's ``INSERT .. ON CONFLICT`` raise
CardinalityViolation, and block every later rollup. These tests send exactly
that, and many more made-up methods, against the suite's PostgreSQL database.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime

import pytest
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import func, select

from app.extensions import db
from app.metrics import keys
from app.metrics.models import RequestMetricMinute
from app.metrics.request import UNMATCHED
from app.metrics.rollup import run_rollup
from tests.hardening.helpers import assert_envelope
from tests.metrics.helpers import redis_requests, sql_requests

LONG_METHODS = ("QQQQQQQQQQQQQQQQA", "QQQQQQQQQQQQQQQQB")
KNOWN = {"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "OTHER"}


def sql_rows_by_method() -> dict[str, int]:
    rows = db.session.execute(
        select(RequestMetricMinute.method, func.sum(RequestMetricMinute.requests)).group_by(
            RequestMetricMinute.method
        )
    ).all()
    return {method: int(n) for method, n in rows}


def request_series(body: str) -> list:
    """Every sample of the exporter's per-request families."""
    return [
        s
        for f in text_string_to_metric_families(body)
        if f.name.startswith("flask_http_request")
        for s in f.samples
    ]


@pytest.mark.parametrize("path", ["/", "/api/users/me", "/api/auth/login", "/no/such/path"])
def test_made_up_methods_are_405_json_on_every_path(client, path):
    for method in LONG_METHODS + ("BREW", "TRACE"):
        resp = client.open(path, method=method)
        assert_envelope(resp, 405, "method_not_allowed")


def test_two_long_made_up_methods_then_the_rollup_counts_them_as_other(app, client, redis_client):
    for method in LONG_METHODS:
        assert_envelope(client.open("/", method=method), 405, "method_not_allowed")
    assert client.get("/openapi.json").status_code == 200

    result = run_rollup(include_open=True)

    assert result.requests == 3
    assert sql_rows_by_method() == {"OTHER": 2, "GET": 1}
    endpoints = (
        db.session.execute(select(RequestMetricMinute.endpoint).where(RequestMetricMinute.method == "OTHER"))
        .scalars()
        .all()
    )
    assert endpoints == [UNMATCHED]
    assert redis_requests(redis_client) == 0
    assert not redis_client.smembers(keys.PROCESSING_SET)


def test_thousands_of_made_up_methods_do_not_grow_metrics_or_sql(app, client, redis_client):
    for i in range(20):
        client.open("/", method=f"WARMUP{i}")
    client.get("/api/users/me")
    before = client.get("/metrics").get_data(as_text=True)

    for i in range(2000):
        resp = client.open("/api/users/me" if i % 2 else f"/random/{i}", method=f"M{i:05d}X" * 3)
        assert resp.status_code == 405

    after = client.get("/metrics").get_data(as_text=True)
    assert {s.labels["method"] for s in request_series(after)} <= KNOWN
    assert len(request_series(after)) == len(request_series(before))
    assert len(after) < len(before) + 1024  # the counters' digits grow, nothing else

    run_rollup(include_open=True)
    methods = sql_rows_by_method()
    assert set(methods) <= KNOWN and methods["OTHER"] == 2020
    rows = db.session.execute(select(func.count()).select_from(RequestMetricMinute)).scalar_one()
    assert rows <= 6  # (OTHER, GET) x at most 2 minutes x status classes; never 2,000


def test_unknown_urls_share_one_endpoint_value(app, client, redis_client):
    for path in ("/a", "/b/c", "/" + "x" * 300, "/api/users/me/extra"):
        assert client.get(path).status_code == 404
    run_rollup(include_open=True)
    endpoints = db.session.execute(select(RequestMetricMinute.endpoint).distinct()).scalars().all()
    assert endpoints == [UNMATCHED]
    exported = {
        s.labels.get("url_rule")
        for s in request_series(client.get("/metrics").get_data(as_text=True))
        if "url_rule" in s.labels
    }
    assert exported == {UNMATCHED}  # the exporter's hooks wrote "None"; one value either way


def test_argo_answers_made_up_methods_405_json(argo_server):
    client = argo_server.app.test_client()
    for path in ("/api/signals/latest", "/health", "/no/such/path"):
        for method in LONG_METHODS + ("BREW",):
            assert_envelope(client.open(path, method=method), 405, "method_not_allowed")
    assert client.get("/health").status_code == 200


# -- a rollup nobody can block --------------------------------------------------------

HOSTILE_FIELDS = {  # what a neighbour with write access to Redis can put in a minute hash
    "r|GET|2|/x": str(2**70),  # past BIGINT
    "r|GET|2|/" + "y" * 300 + "1": "1",  # two endpoints longer than the column,
    "r|GET|2|/" + "y" * 300 + "2": "1",  # ... equal once cut to 255
    "r|GET|99999|/z": "1",  # past SMALLINT
    "r|GET|2|/nul\x00byte": "1",  # PostgreSQL text cannot hold NUL
    "d|99999999999": "1",  # user id past INTEGER
    "d|7": "many",  # not a number
    "garbage": "1",  # not ours at all
}


def seed_hostile_minute(redis_client, minute: int) -> None:
    mkey = keys.minute_key(minute)
    redis_client.hset(
        mkey,
        mapping={
            "r|GET|2|/ok": 5,
            "l|GET|2|/ok": 5000,
            "d|3": 4,
            # counted as OTHER, not refused:
            "r|QQQQQQQQQQQQQQQQA|4|/ok": 1,
            "r|QQQQQQQQQQQQQQQQB|4|/ok": 1,
            **HOSTILE_FIELDS,
        },
    )
    redis_client.hset(mkey, b"r|GET|2|/\xff\xfe", 1)  # not UTF-8
    redis_client.zadd(keys.MINUTE_INDEX, {str(minute): minute})


def rejected_rows():
    from app.metrics.models import RollupRejectedRow

    return db.session.execute(select(RollupRejectedRow)).scalars().all()


def scraped_rejected_total(client) -> float:
    families = {
        f.name: f for f in text_string_to_metric_families(client.get("/metrics").get_data(as_text=True))
    }
    return families["alpine_rollup_rejected_rows"].samples[0].value


def test_a_hostile_minute_lands_its_good_rows_and_sets_aside_the_rest(app, client, redis_client):
    from tests.metrics.helpers import sql_delivered

    assert scraped_rejected_total(client) == 0
    minute = int(time.time() // 60) - 10
    seed_hostile_minute(redis_client, minute)

    result = run_rollup()

    expected_rejected = len(HOSTILE_FIELDS) + 1
    assert (result.batches, result.requests, result.rejected) == (1, 7, expected_rejected)
    assert sql_requests("/ok") == 7 and sql_delivered(3) == 4
    assert sql_rows_by_method() == {"GET": 5, "OTHER": 2}
    kept = rejected_rows()
    assert len(kept) == expected_rejected
    assert all("\x00" not in r.field for r in kept) and all(r.reason for r in kept)
    assert scraped_rejected_total(client) == expected_rejected
    # Nothing stays behind in Redis, nothing is retried.
    assert not redis_client.smembers(keys.PROCESSING_SET)
    assert not redis_client.keys(keys.PREFIX + "p:*") and not redis_client.keys(keys.PREFIX + "m:*")

    again = run_rollup()
    assert (again.batches, again.requests, again.rejected) == (0, 0, 0)
    assert sql_requests() == 7 and len(rejected_rows()) == expected_rejected
    assert scraped_rejected_total(client) == expected_rejected


def test_a_row_the_database_refuses_is_set_aside_not_retried_forever(app, client, redis_client):
    """Well-formed fields, but adding them overflows a stored BIGINT: only PostgreSQL's
    arithmetic sees it, so the rollup falls back to row by row."""
    minute = int(time.time() // 60) - 10
    start = datetime.fromtimestamp(minute * 60, tz=UTC)
    db.session.add(
        RequestMetricMinute(
            minute=start,
            endpoint="/full",
            method="GET",
            status_class=2,
            hour=start.replace(minute=0),
            day=start.date(),
            requests=2**63 - 2,
            latency_us=0,
        )
    )
    db.session.commit()
    mkey = keys.minute_key(minute)
    redis_client.hset(mkey, mapping={"r|GET|2|/full": 10, "r|GET|2|/fine": 3, "d|5": 2})
    redis_client.zadd(keys.MINUTE_INDEX, {str(minute): minute})

    result = run_rollup()

    assert (result.batches, result.requests, result.rejected) == (1, 3, 1)
    assert sql_requests("/fine") == 3 and sql_requests("/full") == 2**63 - 2
    [kept] = rejected_rows()
    assert kept.field == "r|GET|2|/full" and "refused by the database" in kept.reason
    assert not redis_client.smembers(keys.PROCESSING_SET) and not redis_client.exists(mkey)
    assert run_rollup().batches == 0 and sql_requests("/fine") == 3
    assert scraped_rejected_total(client) == 1


def test_concurrent_rollups_count_set_aside_fields_once(app, client, redis_client):
    import threading

    minute = int(time.time() // 60) - 10
    seed_hostile_minute(redis_client, minute)
    # A rollup that claimed the minute and died: two runs now race for its processing key.
    from app.metrics.rollup import _claim_closed_minutes

    assert len(_claim_closed_minutes(redis_client, False)) == 1
    barrier, results = threading.Barrier(3), []

    def worker():
        with app.app_context():
            barrier.wait()
            results.append(run_rollup())

    threads = [threading.Thread(target=worker) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert sum(r.batches for r in results) == 1
    db.session.expire_all()
    assert sql_requests() == 7
    assert scraped_rejected_total(client) == len(HOSTILE_FIELDS) + 1


def test_a_hostile_minute_on_sqlite_too(tmp_path, base_config, redis_client):
    """SQLite enforces neither lengths nor SMALLINT, so it would store what PostgreSQL
    refuses: the same fields are set aside anyway, the analytics are the same."""
    from app import create_app

    lite = create_app({**base_config, "DATABASE_URL": f"sqlite:///{tmp_path / 'lite.db'}"})
    try:
        with lite.app_context():
            db.create_all()
            minute = int(time.time() // 60) - 10
            seed_hostile_minute(redis_client, minute)
            result = run_rollup()
            assert (result.batches, result.requests) == (1, 7)
            assert result.rejected == len(HOSTILE_FIELDS) + 1
            assert sql_rows_by_method() == {"GET": 5, "OTHER": 2}
            assert len(rejected_rows()) == len(HOSTILE_FIELDS) + 1
            assert not redis_client.smembers(keys.PROCESSING_SET)
            assert run_rollup().batches == 0 and sql_requests() == 7
            db.engine.dispose()
    finally:
        redis_client.flushdb()


def test_cli_shows_what_was_set_aside(app, runner, redis_client):
    seed_hostile_minute(redis_client, int(time.time() // 60) - 10)
    out = runner.invoke(args=["metrics", "rollup"])
    assert out.exit_code == 0 and f"set aside {len(HOSTILE_FIELDS) + 1}" in out.output
    out = runner.invoke(args=["metrics", "rejected", "--limit", "3"])
    assert out.exit_code == 0, out.output
    lines = out.output.splitlines()
    assert lines[0].startswith(f"{len(HOSTILE_FIELDS) + 1} set-aside") and len(lines) == 4
    assert "garbage" in runner.invoke(args=["metrics", "rejected"]).output
