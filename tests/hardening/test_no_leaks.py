"""No leaks (the seed review's optimisation #2): thousands of requests, a share of
them raising inside handlers after touching the database, plus real error paths
(404, 401, 403, 409, 422, 503 from a cancelled statement, a SQL error), CLI
commands and Celery tasks — and afterwards no SQLAlchemy connection is checked
out, PostgreSQL sees no more connections than the pool allows and none idle in a
transaction, and Argo's store holds no more SQLite connections than threads."""

from __future__ import annotations

import random
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from flask import Blueprint
from sqlalchemy import create_engine, select, text

from app.accounts.models import User
from app.extensions import db
from argo_app.generator.engine import generate
from httpkit.errors import APIError
from tests.hardening.helpers import assert_envelope

THREADS = 4
ROUNDS = 100  # x len(MIX) requests ~ 2,700


class Boom(RuntimeError):
    """A bug in a handler (test-only)."""


def faulty_blueprint() -> Blueprint:
    bp = Blueprint("leaktest", __name__, url_prefix="/_leaktest")

    @bp.get("/raise-after-read")
    def raise_after_read():
        db.session.execute(select(User.id).limit(1)).all()
        raise Boom("after a read")

    @bp.post("/raise-mid-transaction")
    def raise_mid_transaction():
        db.session.add(
            User(email=f"ghost{random.random()}@example.com", password_hash="x", full_name="ghost")
        )
        db.session.flush()  # the INSERT is sent: a transaction is open on a connection
        raise Boom("mid transaction")

    @bp.get("/api-error-after-read")
    def api_error_after_read():
        db.session.execute(text("SELECT 1")).all()
        raise APIError(409, "conflict", "Raised after a read.")

    @bp.get("/sql-error")
    def sql_error():
        db.session.execute(text("SELECT 1/0"))  # DataError: a bug, 500
        return {}

    @bp.get("/statement-cancelled")
    def statement_cancelled():
        db.session.execute(text("SET LOCAL statement_timeout = 1"))
        db.session.execute(text("SELECT pg_sleep(0.05)"))  # QueryCanceled -> 503
        return {}

    @bp.get("/ok-after-write")
    def ok_after_write():
        db.session.execute(text("SELECT 1"))
        return {"ok": True}

    return bp


@pytest.fixture
def config_overrides(argo_server):
    argo_server.app.extensions["argo_store"].insert_many(generate(200, 3))
    return {"ARGO_URL": argo_server.url}


def pg_connections(database_url) -> tuple[int, int]:
    """(connections to the run's database, of which idle in transaction), minus ours."""
    engine = create_engine(database_url, poolclass=None)
    try:
        with engine.connect() as conn:
            row = conn.execute(
                text(
                    "SELECT count(*), count(*) FILTER (WHERE state LIKE 'idle in transaction%') "
                    "FROM pg_stat_activity WHERE datname = current_database() "
                    "AND pid <> pg_backend_pid()"
                )
            ).one()
            return int(row[0]), int(row[1])
    finally:
        engine.dispose()


def test_no_connection_leaks_after_thousands_of_requests_errors_cli_and_tasks(
    app, auth, runner, database_url, remember_secret
):
    app.register_blueprint(faulty_blueprint())
    user = auth.user(email="leaky@example.com", tier="pro")
    admin = auth.admin(email="leak-admin@example.com")
    for t in (user.access, admin.access):
        remember_secret(t)

    # (method, path, kwargs, expected status)
    mix = [
        ("GET", "/_leaktest/raise-after-read", {}, 500),
        ("POST", "/_leaktest/raise-mid-transaction", {}, 500),
        ("GET", "/_leaktest/api-error-after-read", {}, 409),
        ("GET", "/_leaktest/sql-error", {}, 500),
        ("GET", "/_leaktest/statement-cancelled", {}, 503),
        ("GET", "/_leaktest/ok-after-write", {}, 200),
        ("GET", "/api/users/me", {"headers": user.headers}, 200),
        ("GET", "/api/users/me", {}, 401),
        ("GET", "/api/users/me", {"headers": {"Authorization": "Bearer x.y.z"}}, 401),
        ("GET", "/api/admin/users", {"headers": user.headers}, 403),
        ("GET", "/api/admin/users?per_page=0", {"headers": admin.headers}, 422),
        ("GET", "/api/admin/users?q=leak", {"headers": admin.headers}, 200),
        ("GET", "/api/admin/security", {"headers": admin.headers}, 200),
        ("GET", "/api/admin/analytics", {"headers": admin.headers}, 200),
        ("GET", "/api/signals/latest?limit=20", {"headers": user.headers}, 200),
        ("GET", "/api/signals/latest?premium_only=true", {"headers": user.headers}, 200),
        ("GET", "/api/signals/latest?limit=0", {"headers": user.headers}, 422),
        ("GET", "/nope", {}, 404),
        (
            "POST",
            "/api/auth/register",
            {"json": {"email": "leaky@example.com", "password": "correct horse battery", "full_name": "dup"}},
            409,
        ),
        (
            "POST",
            "/api/auth/login",
            {"json": {"email": "nobody@example.com", "password": "wrong password!"}},
            (401, 429),
        ),
        ("PATCH", "/api/users/me", {"headers": user.headers, "json": {"email": "x"}}, 422),
        ("PATCH", f"/api/admin/users/{user.id}", {"headers": admin.headers, "json": {"tier": "elite"}}, 200),
        ("PATCH", "/api/admin/users/999999", {"headers": admin.headers, "json": {"tier": "pro"}}, 404),
        ("GET", "/api/admin/metrics/requests", {"headers": admin.headers}, 200),
        ("GET", "/ready", {}, 200),
        ("POST", "/api/auth/register", {"data": "[" * 5000, "content_type": "application/json"}, 400),
        ("POST", "/api/auth/register", {"data": b"x" * 70_000, "content_type": "application/json"}, 413),
    ]
    work = [item for _ in range(ROUNDS) for item in mix]
    random.Random(5).shuffle(work)
    statuses: dict[int, int] = {}
    lock = threading.Lock()

    def worker(chunk):
        client = app.test_client()  # this thread has no app context: each request pushes its own
        for method, path, kwargs, expected in chunk:
            resp = client.open(path, method=method, **kwargs)
            allowed = expected if isinstance(expected, tuple) else (expected,)
            assert resp.status_code in allowed, (method, path, resp.status_code, resp.get_json())
            if resp.status_code >= 400:
                assert_envelope(resp)
            with lock:
                statuses[resp.status_code] = statuses.get(resp.status_code, 0) + 1

    chunks = [work[i::THREADS] for i in range(THREADS)]
    with ThreadPoolExecutor(THREADS) as pool:
        for future in [pool.submit(worker, c) for c in chunks]:
            future.result()
    assert sum(statuses.values()) == len(work) >= 2500
    assert statuses[500] >= 3 * ROUNDS and statuses[503] >= ROUNDS  # the faults really ran

    # The raising transaction left nothing behind.
    with app.app_context():
        ghosts = db.session.execute(select(User).where(User.email.like("ghost%"))).all()
        assert ghosts == []

    # CLI commands (successes and clean failures) and Celery tasks (eager).
    for args, code in (
        (["users", "list"], 0),
        (["users", "set-tier", user.email, "pro"], 0),
        (["users", "set-tier", "nobody@example.com", "pro"], 1),
        (["users", "set-tier", user.email, "platinum"], 1),
        (["users", "deactivate", "nobody@example.com"], 1),
        (["metrics", "rollup", "--include-open"], 0),
        (["signals", "sync"], 0),
    ):
        for _ in range(5):
            result = runner.invoke(args=args)
            assert result.exit_code == code, (args, result.output)
    from workers import tasks

    def run_tasks():
        for _ in range(5):
            tasks.rollup_request_metrics.apply(kwargs={"include_open": True}).get()
            tasks.prune_revoked_tokens.apply().get()
            tasks.sync_signals.apply().get()

    thread = threading.Thread(target=run_tasks)  # no app context there: the task pushes its own
    thread.start()
    thread.join(60)

    with app.app_context():
        pool = db.engine.pool
        assert pool.checkedout() == 0, pool.status()
        limit = app.config["DB_POOL_SIZE"] + app.config["DB_MAX_OVERFLOW"]
    total, idle_in_txn = pg_connections(database_url)
    assert idle_in_txn == 0
    assert total <= limit, (total, limit)


def test_argo_store_holds_no_more_connections_than_threads(argo_server):
    store = argo_server.app.extensions["argo_store"]
    store.insert_many(generate(300, 4))
    import requests

    # Through the real threaded server (a thread per connection) ...
    def hammer(n):
        with requests.Session() as session:
            for i in range(n):
                resp = session.get(
                    argo_server.url + "/api/signals/latest", params={"limit": 1 + i % 50}, timeout=5
                )
                assert resp.status_code == 200
            assert session.get(argo_server.url + "/api/signals/latest?limit=0", timeout=5).status_code == 422

    with ThreadPoolExecutor(6) as pool:
        list(pool.map(hammer, [60] * 12))
    assert store.open_connections() <= threading.active_count()

    # ... and through a fixed pool of threads calling the app directly.
    client_threads = 5
    barrier = threading.Barrier(client_threads)
    seen = set()

    def direct(_):
        client = argo_server.app.test_client()
        barrier.wait()
        for i in range(200):
            assert client.get(f"/api/signals/latest?limit={1 + i % 20}").status_code == 200
        seen.add(threading.get_ident())
        return store.open_connections()

    before = store.open_connections()
    with ThreadPoolExecutor(client_threads) as pool:
        during = list(pool.map(direct, range(client_threads)))
    assert len(seen) == client_threads
    # Each of the 5 threads opened exactly one connection for its 200 requests.
    assert max(during) <= before + client_threads
    assert store.open_connections() <= threading.active_count()
