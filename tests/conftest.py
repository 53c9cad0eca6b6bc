"""Shared fixtures: a real PostgreSQL database and a real Redis DB of our own.

Each test run creates its own PostgreSQL database (``alpine_test_<random>``)
on the server named by ``TEST_DATABASE_URL`` and drops it at the end, so two
runs never see each other's rows; each test starts from empty tables and an
empty Redis DB (``REDIS_TEST_DB``, default 9). If PostgreSQL or Redis cannot
be reached the run stops at once with a clear message: nothing is skipped.
"""

from __future__ import annotations

import os
import shutil
import socket
import tempfile
import threading
import uuid

import pytest
import redis
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from werkzeug.serving import make_server

from config import normalise_database_url

pytest_plugins = ["tests.log_hygiene"]

# psycopg 3 (postgresql+psycopg://), as the apps use it.
TEST_DATABASE_URL = normalise_database_url(
    os.environ.get("TEST_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/test")
)
TEST_REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379")
REDIS_TEST_DB = int(os.environ.get("REDIS_TEST_DB", "9"))
RUN_DB_NAME = f"alpine_test_{uuid.uuid4().hex[:10]}"


def pytest_configure(config):
    # Apps built from the environment (workers.celery_app, wsgi) generate the
    # development instance's secrets and SQLite file: in a directory of this
    # run's own, never the checkout's instance/.
    if not os.environ.get("INSTANCE_DIR"):
        os.environ["INSTANCE_DIR"] = tempfile.mkdtemp(prefix="alpine-test-instance-")
        config.add_cleanup(lambda: shutil.rmtree(os.environ.pop("INSTANCE_DIR"), ignore_errors=True))


def pytest_sessionstart(session):
    problems = []
    try:
        engine = create_engine(TEST_DATABASE_URL, connect_args={"connect_timeout": 3})
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        engine.dispose()
    except Exception as exc:  # noqa: BLE001 - reported verbatim below
        problems.append(f"PostgreSQL at {TEST_DATABASE_URL}: {exc.__class__.__name__}: {exc}")
    try:
        redis.Redis.from_url(TEST_REDIS_URL, socket_connect_timeout=2).ping()
    except Exception as exc:  # noqa: BLE001
        problems.append(f"Redis at {TEST_REDIS_URL}: {exc.__class__.__name__}: {exc}")
    if problems:
        pytest.exit(
            "the test services are not reachable (start them; .ci/run does):\n  " + "\n  ".join(problems),
            returncode=3,
        )


def pytest_sessionfinish(session, exitstatus):
    # The suite's apps' unflushed request counters (some pointing at Redis
    # servers tests already stopped) must not be flushed at interpreter exit.
    from app.metrics.flusher import discard_all

    discard_all()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def redis_url(db: int = REDIS_TEST_DB) -> str:
    return f"{TEST_REDIS_URL.rstrip('/')}/{db}"


@pytest.fixture
def own_redis(tmp_path):
    """A redis-server of this test's own (nothing kept on disk) that it may kill."""
    from tests.hardening.servers import RedisServer

    server = RedisServer(tmp_path).start()
    yield server
    server.kill()


@pytest.fixture(scope="session")
def database_url():
    """A PostgreSQL database of this run's own, dropped at the end."""
    admin = create_engine(TEST_DATABASE_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{RUN_DB_NAME}"'))
    url = make_url(TEST_DATABASE_URL).set(database=RUN_DB_NAME).render_as_string(hide_password=False)
    yield url
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{RUN_DB_NAME}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture(scope="session")
def base_config(database_url):
    """What every test app (and every server a test starts) is configured with."""
    return {
        "APP_ENV": "testing",
        "DATABASE_URL": database_url,
        "REDIS_URL": redis_url(),
        "SECRET_KEY": "test-secret-key-that-is-long-enough-0123456789",
        "JWT_SECRET_KEY": "test-jwt-secret-key-that-is-long-enough-012345",
        # No Argo unless a test starts one (see argo_server).
        "ARGO_URL": f"http://127.0.0.1:{free_port()}",
    }


@pytest.fixture(scope="session")
def _schema(base_config):
    from app import create_app
    from app.extensions import db

    app = create_app(dict(base_config))
    with app.app_context():
        db.create_all()
        db.engine.dispose()


def _reset_state(app):
    from app.accounts import auth_invalidation
    from app.extensions import db

    auth_invalidation.stop_all()  # this test's listener thread (in-process auth memory)

    with app.app_context():
        db.session.remove()
        tables = ", ".join(f'"{t.name}"' for t in db.metadata.sorted_tables)
        if tables:
            with db.engine.begin() as conn:
                conn.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
        db.engine.dispose()
    redis.Redis.from_url(redis_url()).flushdb()


@pytest.fixture
def config_overrides():
    """Override in a test module to change the app's config."""
    return {}


@pytest.fixture
def app(_schema, base_config, config_overrides):
    from app import create_app

    app = create_app({**base_config, **config_overrides})
    yield app
    _reset_state(app)


@pytest.fixture
def redis_client():
    client = redis.Redis.from_url(redis_url(), decode_responses=True)
    yield client
    client.close()


class ServerThread:
    """A real WSGI server on a loopback port, in a thread of this process."""

    def __init__(self, wsgi_app, port: int | None = None):
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self._server = make_server("127.0.0.1", self.port, wsgi_app, threaded=True)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def start(self):
        self._thread.start()
        return self

    def stop(self):
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)


@pytest.fixture
def argo_server(tmp_path):
    """The real Argo app on a loopback port, over its own SQLite store."""
    from argo_app import create_app as create_argo

    argo = create_argo({"ARGO_DB_PATH": str(tmp_path / "argo.db"), "TESTING": True})
    server = ServerThread(argo).start()
    server.app = argo
    yield server
    server.stop()


# -- accounts: the `auth` helper -------------------------------------------------
DEFAULT_PASSWORD = "correct horse battery"


class LoggedIn:
    """A user with live tokens: ``.id .email .password .access .refresh .headers``."""

    def __init__(self, user_id, email, password, tokens):
        self.id, self.email, self.password = user_id, email, password
        self.access, self.refresh = tokens["access_token"], tokens["refresh_token"]
        self.headers = {"Authorization": f"Bearer {self.access}"}


class AuthActions:
    """flaskr-style helper (fixture ``auth``).

    Over HTTP:  ``register(email, password, full_name) -> response``,
                ``login(email, password) -> {access_token, refresh_token, ...}`` (asserts 200),
                ``headers(token) -> {"Authorization": "Bearer ..."}``.
    Fast, through the service (no HTTP, no login throttling):
                ``create_user(email, password, tier=, is_admin=, full_name=) -> user id``,
                ``tokens_for(user_id) -> {access_token, refresh_token, ...}``,
                ``user(email=..., tier="starter") / admin(email=...) -> LoggedIn``.
    """

    def __init__(self, app, client):
        self.app, self.client = app, client
        self._n = 0

    def _email(self, prefix):
        self._n += 1
        return f"{prefix}{self._n}@example.com"

    def register(self, email="user@example.com", password=DEFAULT_PASSWORD, full_name="Test User"):
        return self.client.post(
            "/api/auth/register", json={"email": email, "password": password, "full_name": full_name}
        )

    def login(self, email="user@example.com", password=DEFAULT_PASSWORD):
        resp = self.client.post("/api/auth/login", json={"email": email, "password": password})
        assert resp.status_code == 200, resp.get_json()
        return resp.get_json()

    @staticmethod
    def headers(token):
        return {"Authorization": f"Bearer {token}"}

    def create_user(
        self, email=None, password=DEFAULT_PASSWORD, *, tier="starter", is_admin=False, full_name="Test User"
    ):
        from app.accounts import users as user_service

        with self.app.app_context():
            user = user_service.create_user(
                email or self._email("user"), password, full_name, tier=tier, is_admin=is_admin
            )
            return user.id

    def tokens_for(self, user_id):
        from app.accounts.models import User
        from app.accounts.tokens import issue_tokens
        from app.extensions import db

        with self.app.app_context():
            return issue_tokens(db.session.get(User, user_id))

    def user(
        self, email=None, password=DEFAULT_PASSWORD, *, tier="starter", is_admin=False, full_name="Test User"
    ):
        email = (email or self._email("admin" if is_admin else "user")).lower()
        uid = self.create_user(email, password, tier=tier, is_admin=is_admin, full_name=full_name)
        return LoggedIn(uid, email, password, self.tokens_for(uid))

    def admin(self, email=None, password=DEFAULT_PASSWORD, **kwargs):
        return self.user(email, password, is_admin=True, **kwargs)


@pytest.fixture
def auth(app, client):
    return AuthActions(app, client)


@pytest.fixture
def logged_in_user(auth):
    """A starter-tier user with tokens (``.headers`` for requests)."""
    return auth.user()


@pytest.fixture
def logged_in_admin(auth):
    """An admin with tokens (``.headers`` for requests)."""
    return auth.admin()


@pytest.fixture
def runner(app):
    """Flask's CLI runner: ``runner.invoke(args=["users", "list"])``."""
    return app.test_cli_runner()
