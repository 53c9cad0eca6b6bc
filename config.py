"""Configuration classes, chosen by ``APP_ENV``.

``development`` (the default) is the embedded stack: SQLite under ``instance/``
and the embedded Redis the ``./run`` launcher starts. ``testing`` is what the
test suite uses (it points ``DATABASE_URL`` at PostgreSQL). ``production``
refuses to start without real secrets and real service URLs.

Every config honours ``DATABASE_URL``, ``REDIS_URL``, ``ARGO_URL``,
``SECRET_KEY``, ``JWT_SECRET_KEY`` and ``ARGO_DB_PATH`` when they are set.
Outside production, unset secrets are generated once per instance and kept
under ``instance/`` (0600), never a constant in the source.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

from instance_files import instance_dir, instance_secret
from secret_strength import secret_problem

BASE_DIR = Path(__file__).resolve().parent

# The embedded Redis the ./run launcher starts listens on loopback and requires
# the password kept in <instance>/redis.password, so `flask` CLI commands,
# Celery and the apps run from another terminal reach the same Redis as the
# stack by reading that file.
EMBEDDED_REDIS_PORT = 6390
EMBEDDED_REDIS_PASSWORD_FILE = "redis.password"
# Generated per instance when SECRET_KEY / JWT_SECRET_KEY are unset (not in production).
INSTANCE_SECRET_FILES = {"SECRET_KEY": "secret_key", "JWT_SECRET_KEY": "jwt_secret_key"}


def embedded_redis_url(directory: Path | str | None = None) -> str:
    """The embedded Redis's URL, password included (generated on first use, 0600)."""
    password = instance_secret(EMBEDDED_REDIS_PASSWORD_FILE, directory)
    port = int(os.environ.get("EMBEDDED_REDIS_PORT") or EMBEDDED_REDIS_PORT)
    return f"redis://:{password}@127.0.0.1:{port}/0"


def _bool(value) -> bool:
    if isinstance(value, bool):
        return value
    return str(value).strip().lower() in ("1", "true", "yes", "on")


def normalise_database_url(url: str) -> str:
    """Plain PostgreSQL URLs use psycopg 3 (SQLAlchemy's default driver for
    ``postgresql://`` is psycopg2, which we do not install). Heroku-style
    ``postgres://`` URLs, which SQLAlchemy 2 no longer accepts, are read too."""
    for scheme in ("postgres://", "postgresql://"):
        if url.startswith(scheme):
            return "postgresql+psycopg://" + url[len(scheme) :]
    return url


# Environment variable -> (config key, type). Read when an app is built, not
# at import, so a process (or a test) that sets them later is honoured.
ENV_SETTINGS: dict[str, tuple[str, Callable[[str], Any]]] = {
    "INSTANCE_DIR": ("INSTANCE_DIR", str),
    "SECRET_KEY": ("SECRET_KEY", str),
    "JWT_SECRET_KEY": ("JWT_SECRET_KEY", str),
    "DATABASE_URL": ("DATABASE_URL", str),
    "REDIS_URL": ("REDIS_URL", str),
    "ARGO_URL": ("ARGO_URL", str),
    "ARGO_DB_PATH": ("ARGO_DB_PATH", str),
    "ARGO_API_KEY": ("ARGO_API_KEY", str),
    "ARGO_POOL_MAXSIZE": ("ARGO_POOL_MAXSIZE", int),
    "ARGO_CONNECT_TIMEOUT": ("ARGO_CONNECT_TIMEOUT", float),
    "ARGO_READ_TIMEOUT": ("ARGO_READ_TIMEOUT", float),
    "ARGO_BREAKER_FAILURES": ("ARGO_BREAKER_FAILURES", int),
    "ARGO_BREAKER_RESET_SECONDS": ("ARGO_BREAKER_RESET_SECONDS", float),
    "ARGO_CLIENT_POOLED": ("ARGO_CLIENT_POOLED", _bool),
    "ARGO_CA_BUNDLE": ("ARGO_CA_BUNDLE", str),
    "FEED_WINDOW": ("FEED_WINDOW", int),
    "FEED_POLL_INTERVAL": ("FEED_POLL_INTERVAL", float),
    "FEED_WINDOW_MAX_AGE": ("FEED_WINDOW_MAX_AGE", float),
    "CORS_ORIGINS": ("CORS_ORIGINS", str),
    "DB_POOL_SIZE": ("DB_POOL_SIZE", int),
    "DB_MAX_OVERFLOW": ("DB_MAX_OVERFLOW", int),
    "DB_POOL_TIMEOUT": ("DB_POOL_TIMEOUT", float),
    "DB_POOL_RECYCLE": ("DB_POOL_RECYCLE", int),
    "DB_CONNECT_TIMEOUT": ("DB_CONNECT_TIMEOUT", int),
    "DB_STATEMENT_TIMEOUT_MS": ("DB_STATEMENT_TIMEOUT_MS", int),
    "REDIS_SOCKET_TIMEOUT": ("REDIS_SOCKET_TIMEOUT", float),
    "REDIS_CONNECT_TIMEOUT": ("REDIS_CONNECT_TIMEOUT", float),
    "JWT_ACCESS_TOKEN_SECONDS": ("JWT_ACCESS_TOKEN_SECONDS", int),
    "JWT_REFRESH_TOKEN_SECONDS": ("JWT_REFRESH_TOKEN_SECONDS", int),
    "USER_CACHE_ENABLED": ("USER_CACHE_ENABLED", _bool),
    "LOCAL_AUTH_CACHE": ("LOCAL_AUTH_CACHE", _bool),
    "LOCAL_AUTH_LEASE": ("LOCAL_AUTH_LEASE", float),
    "API_KEYS_PER_USER": ("API_KEYS_PER_USER", int),
    "API_KEY_USAGE_FLUSH_SECONDS": ("API_KEY_USAGE_FLUSH_SECONDS", float),
    "PASSWORD_HASH_TIME_COST": ("PASSWORD_HASH_TIME_COST", int),
    "PASSWORD_HASH_MEMORY_COST": ("PASSWORD_HASH_MEMORY_COST", int),
    "METRICS_ENABLED": ("METRICS_ENABLED", _bool),
    "METRICS_FLUSH_INTERVAL": ("METRICS_FLUSH_INTERVAL", float),
    "METRICS_MAX_BUFFERED_KEYS": ("METRICS_MAX_BUFFERED_KEYS", int),
    "METRICS_ROLLUP_GRACE_SECONDS": ("METRICS_ROLLUP_GRACE_SECONDS", float),
    "METRICS_ROLLUP_PAUSE": ("METRICS_ROLLUP_PAUSE", str),
    "METRICS_TOKEN": ("METRICS_TOKEN", str),
    "LOGIN_MAX_FAILURES_PER_EMAIL_IP": ("LOGIN_MAX_FAILURES_PER_EMAIL_IP", int),
    "LOGIN_MAX_FAILURES_PER_IP": ("LOGIN_MAX_FAILURES_PER_IP", int),
    "LOGIN_MAX_FAILURES_PER_EMAIL": ("LOGIN_MAX_FAILURES_PER_EMAIL", int),
    "LOGIN_FAILURE_WINDOW_SECONDS": ("LOGIN_FAILURE_WINDOW_SECONDS", int),
    "REGISTRATION_RATE_LIMIT": ("REGISTRATION_RATE_LIMIT", str),
    "MAIL_SERVER": ("MAIL_SERVER", str),
    "MAIL_PORT": ("MAIL_PORT", int),
    "MAIL_USE_TLS": ("MAIL_USE_TLS", _bool),
    "MAIL_USE_SSL": ("MAIL_USE_SSL", _bool),
    "MAIL_USERNAME": ("MAIL_USERNAME", str),
    "MAIL_PASSWORD": ("MAIL_PASSWORD", str),
    "MAIL_DEFAULT_SENDER": ("MAIL_DEFAULT_SENDER", str),
    "MAIL_TIMEOUT": ("MAIL_TIMEOUT", float),
    "MAIL_RETRY_BASE_SECONDS": ("MAIL_RETRY_BASE_SECONDS", float),
    "PUBLIC_URL": ("PUBLIC_URL", str),
    "WEBHOOK_ALLOW_PRIVATE": ("WEBHOOK_ALLOW_PRIVATE", _bool),
    "WEBHOOK_REQUIRE_HTTPS": ("WEBHOOK_REQUIRE_HTTPS", _bool),
    "WEBHOOK_TIMEOUT_SECONDS": ("WEBHOOK_TIMEOUT_SECONDS", float),
    "WEBHOOK_RETRY_BASE_SECONDS": ("WEBHOOK_RETRY_BASE_SECONDS", float),
    "WEBHOOK_RETRY_MAX_DELAY_SECONDS": ("WEBHOOK_RETRY_MAX_DELAY_SECONDS", float),
    "WEBHOOK_RETRY_FOR_SECONDS": ("WEBHOOK_RETRY_FOR_SECONDS", float),
    "WEBHOOK_DISABLE_AFTER_SECONDS": ("WEBHOOK_DISABLE_AFTER_SECONDS", float),
    "WEBHOOK_DISABLE_MIN_ATTEMPTS": ("WEBHOOK_DISABLE_MIN_ATTEMPTS", int),
    "WEBHOOK_LEASE_MARGIN_SECONDS": ("WEBHOOK_LEASE_MARGIN_SECONDS", float),
    "WEBHOOK_SWEEP_GRACE_SECONDS": ("WEBHOOK_SWEEP_GRACE_SECONDS", float),
}

_RATE_UNITS = {"second": 1, "minute": 60, "hour": 3600, "day": 86400}


def parse_rate(value) -> tuple[int, int]:
    """``10`` (per hour), ``"10/hour"``, ``"10 per 2 hours"``, ``"5/minute"`` -> (count, seconds)."""
    text = str(value).strip().lower()
    if text.isdigit():
        return int(text), 3600
    count, sep, rest = text.replace(" per ", "/").partition("/")
    words = rest.split()
    if sep and count.strip().isdigit() and words and len(words) <= 2:
        unit = words[-1][:-1] if words[-1].endswith("s") else words[-1]
        mult = words[0] if len(words) == 2 else "1"
        if unit in _RATE_UNITS and mult.isdigit() and int(mult) > 0:
            return int(count), int(mult) * _RATE_UNITS[unit]
    raise RuntimeError(f"unreadable rate {value!r}; expected e.g. 10, '10/hour' or '20 per day'")


class AppSettings:
    """The Flask app itself: environment, secrets, request limits, OpenAPI."""

    APP_ENV = "base"
    TESTING = False
    DEBUG = False
    # None = generated per instance (finalise); production requires strong ones.
    SECRET_KEY = None
    JWT_SECRET_KEY = None
    INSTANCE_DIR = None  # None = instance_files.instance_dir()

    MAX_CONTENT_LENGTH = 64 * 1024
    # Comma-separated allowed origins; CORS stays off when unset.
    CORS_ORIGINS = None

    # flask-smorest / OpenAPI
    API_TITLE = "Alpine API"
    API_VERSION = "1.0"
    OPENAPI_VERSION = "3.0.3"
    OPENAPI_URL_PREFIX = "/"
    OPENAPI_JSON_PATH = "openapi.json"
    # Swagger UI at /docs, its assets served by the app (httpkit/docs.py): works offline.
    OPENAPI_SWAGGER_UI_PATH = "/docs"
    OPENAPI_SWAGGER_UI_URL = "/docs/assets/"
    OPENAPI_SWAGGER_UI_CONFIG = {"validatorUrl": None, "deepLinking": True}


class DatabaseSettings:
    """SQL (SQLite embedded, PostgreSQL otherwise) and its connection pool."""

    # DATABASE_URL / REDIS_URL stay None unless given; finalise() turns them
    # into the embedded defaults, except in production where they are required.
    DATABASE_URL = None
    DB_POOL_SIZE = 5
    DB_MAX_OVERFLOW = 5
    DB_POOL_TIMEOUT = 5.0
    DB_POOL_RECYCLE = 1800
    # PostgreSQL: fail fast when the server is gone instead of hanging a worker.
    DB_CONNECT_TIMEOUT = 3
    DB_STATEMENT_TIMEOUT_MS = 15000


class RedisSettings:
    """Redis: cache, counters, Celery's broker; never a reason for a request to fail."""

    REDIS_URL = None
    # Sub-second: a Redis that hangs must never hold a request for long.
    REDIS_SOCKET_TIMEOUT = 0.25
    REDIS_CONNECT_TIMEOUT = 0.25
    # After a Redis error, skip Redis reads for this long (per process) and use
    # SQL / in-process counters, so a hung Redis costs one timeout, not one per request.
    REDIS_BREAKER_SECONDS = 1.0
    CACHE_DEFAULT_TIMEOUT = 300


class ArgoSettings:
    """The Alpine -> Argo client and the local signals copy (app/feed/)."""

    ARGO_URL = "http://127.0.0.1:5001"
    ARGO_DB_PATH = None  # None = <instance>/argo.db
    ARGO_API_KEY = None
    # One pooled requests.Session per process; pool_maxsize must be >= gunicorn
    # threads (pool_block=True: a thread waits for a free connection, Argo sees
    # at most this many per worker).
    ARGO_POOL_CONNECTIONS = 2
    ARGO_POOL_MAXSIZE = 8
    ARGO_CONNECT_TIMEOUT = 0.5
    ARGO_READ_TIMEOUT = 2.0
    ARGO_HEALTH_TIMEOUT = 0.5  # /ready's probe (connect and read)
    ARGO_RETRY_TOTAL = 2  # idempotent GETs only: connect errors, 502/503/504
    ARGO_RETRY_BACKOFF = 0.1
    ARGO_BREAKER_FAILURES = 5  # consecutive failures that open the breaker
    ARGO_BREAKER_RESET_SECONDS = 10.0  # open this long, then one half-open trial
    # Bench/test only: False = the naive way, a new connection per request.
    ARGO_CLIENT_POOLED = True
    ARGO_CA_BUNDLE = None  # PEM file to verify an https:// ARGO_URL against
    # The local signals copy (app/feed/signal_sync.py, signal_feed.py).
    SIGNAL_SYNC_PAGE_SIZE = 500  # Argo's max limit
    SIGNAL_SYNC_MAX_PAGES = 20
    SIGNAL_SCAN_MAX = 2000  # starter feed: most raw Argo signals scanned per request
    SIGNAL_SEEN_CACHE_SIZE = 4096  # per-process sha256s known to be stored
    # The feed window (app/feed/window.py): each web process keeps the newest
    # FEED_WINDOW verified signals, polled from Argo (If-None-Match) every
    # FEED_POLL_INTERVAL s; 0 = no poller, each feed request refreshes first (tests).
    FEED_WINDOW = 5000
    FEED_POLL_INTERVAL = 0.25
    FEED_WINDOW_MAX_AGE = 1.0  # not confirmed by Argo for this long: not served (stale path)


class AccountsSettings:
    """Tokens, password hashing, the user cache, throttling and quotas (app/accounts/)."""

    # flask-jwt-extended
    JWT_ACCESS_TOKEN_SECONDS = 15 * 60
    JWT_REFRESH_TOKEN_SECONDS = 7 * 24 * 3600
    JWT_TOKEN_LOCATION = ["headers"]
    JWT_ALGORITHM = "HS256"
    # Only HS256 is accepted on decode: never "none", never an algorithm the
    # token itself picks.
    JWT_DECODE_ALGORITHMS = ["HS256"]

    # argon2id (argon2-cffi defaults); the testing config makes it cheap.
    PASSWORD_HASH_TIME_COST = 3
    PASSWORD_HASH_MEMORY_COST = 65536  # KiB
    PASSWORD_HASH_PARALLELISM = 4

    USER_CACHE_ENABLED = True
    USER_CACHE_TTL = 300
    # Users and session revocation states in each web process's memory, kept
    # exact by Redis pub/sub (app/accounts/local_auth.py): no Redis round trip
    # for them in steady state. The lease bounds how long a process that lost
    # Redis may go on using its memory (and how long a write may wait for it).
    LOCAL_AUTH_CACHE = True
    LOCAL_AUTH_LEASE = 0.5
    LOCAL_AUTH_TTL = 60
    LOCAL_AUTH_MAX_ENTRIES = 10_000
    # How long Redis may remember "this login is NOT revoked" (bounds the
    # staleness window when a logout could not reach Redis; see app/accounts/tokens.py).
    REVOCATION_NEGATIVE_TTL = 60
    # Login throttling (app/accounts/login_throttle.py): failures per window that
    # lock one (email, IP) pair, one IP (any email), and one email (any IP).
    LOGIN_MAX_FAILURES_PER_EMAIL_IP = 5
    LOGIN_MAX_FAILURES_PER_IP = 30
    LOGIN_MAX_FAILURES_PER_EMAIL = 50
    LOGIN_FAILURE_WINDOW_SECONDS = 15 * 60
    # Registrations per source IP (app/accounts/registration_throttle.py).
    REGISTRATION_RATE_LIMIT = "10/hour"
    # {"starter": 5} overrides app/accounts/tiers.py daily quotas (tests, special deals).
    TIER_QUOTA_OVERRIDES: dict = {}
    # API keys (app/keys/): live keys per user; how often a process sends its
    # per-key request counts to Redis (0 = on every request).
    API_KEYS_PER_USER = 10
    API_KEY_USAGE_FLUSH_SECONDS = 1.0


class MailSettings:
    """Account mail (app/mail/, app/accounts/mail_outbox.py): Flask-Mailman over SMTP,
    sent by Celery tasks. Development points at ./run's local SMTP sink."""

    MAIL_BACKEND = "smtp"  # also when TESTING: the tests run a real SMTP server
    MAIL_SERVER = "localhost"
    MAIL_PORT = 25
    MAIL_USE_TLS = False
    MAIL_USE_SSL = False
    MAIL_USERNAME = None
    MAIL_PASSWORD = None
    MAIL_DEFAULT_SENDER = "Alpine <no-reply@localhost>"
    MAIL_TIMEOUT = 10.0  # seconds per SMTP operation: a hung server fails the attempt, which is retried
    # Retry n waits MAIL_RETRY_BASE_SECONDS * 2**n (at most 10 min), MAIL_MAX_RETRIES times.
    MAIL_RETRY_BASE_SECONDS = 5.0
    MAIL_MAX_RETRIES = 12
    PUBLIC_URL = "http://127.0.0.1:5000"  # links in mail: {PUBLIC_URL}/verify-email?token=...
    EMAIL_VERIFY_TOKEN_SECONDS = 48 * 3600
    PASSWORD_RESET_TOKEN_SECONDS = 3600
    # Mail throttles: resends per user, reset mails per email, forgot-password calls per IP.
    VERIFICATION_RESEND_LIMIT = "3/hour"
    PASSWORD_RESET_EMAIL_LIMIT = "3/hour"
    PASSWORD_RESET_IP_LIMIT = "20/hour"


class MetricsSettings:
    """Request counting, the rollup, /metrics and the admin analytics (app/metrics/)."""

    METRICS_ENABLED = True
    METRICS_FLUSH_INTERVAL = 1.0
    # Distinct (minute, endpoint, method, status class | user) keys a process
    # keeps in memory while Redis is down; increments past it are dropped+counted.
    METRICS_MAX_BUFFERED_KEYS = 50_000
    # A minute is rolled up this long after it ends (a few flush intervals).
    METRICS_ROLLUP_GRACE_SECONDS = 5.0
    # Tests only (honoured when TESTING): "<point>:<seconds>" pauses the rollup
    # at after_claim / after_commit so a test can SIGKILL the worker there.
    METRICS_ROLLUP_PAUSE = None
    # When set, GET /metrics requires "Authorization: Bearer <METRICS_TOKEN>"
    # (production warns at start when it is not set).
    METRICS_TOKEN = None
    ANALYTICS_CACHE_SECONDS = 300
    # Widest range GET /api/admin/metrics/requests answers, per granularity.
    METRICS_QUERY_MAX_DAYS = {"hour": 31, "day": 400}


class WebhookSettings:
    """Push delivery (app/webhooks/): outbound safety, retries, disabling."""

    # None = decided by APP_ENV in finalise(): loopback receivers allowed and
    # plain http accepted everywhere but production.
    WEBHOOK_ALLOW_PRIVATE = None
    WEBHOOK_REQUIRE_HTTPS = None
    WEBHOOK_TIMEOUT_SECONDS = 5.0  # the whole attempt: connect, send, answer
    WEBHOOK_RETRY_BASE_SECONDS = 5.0  # first retry after 2.5..5 s, then doubling
    WEBHOOK_RETRY_MAX_DELAY_SECONDS = 1800.0
    WEBHOOK_RETRY_FOR_SECONDS = 24 * 3600.0  # a message is given up this long after it was created
    # An endpoint failing every attempt for this long, with at least this many attempts, is disabled.
    WEBHOOK_DISABLE_AFTER_SECONDS = 24 * 3600.0
    WEBHOOK_DISABLE_MIN_ATTEMPTS = 20
    WEBHOOK_MAX_ENDPOINTS_PER_USER = 5
    WEBHOOK_SECRET_OVERLAP_SECONDS = 24 * 3600.0  # old secret still signs after a rotation
    # A worker's claim on an attempt lasts the timeout plus this; a claim left by
    # a killed worker expires, then the sweeper re-sends messages overdue by the grace.
    WEBHOOK_LEASE_MARGIN_SECONDS = 30.0
    WEBHOOK_SWEEP_GRACE_SECONDS = 10.0
    # Parallel POSTs within one batch task (a signal's messages to every endpoint).
    WEBHOOK_SEND_THREADS = 16


class CelerySettings:
    """Celery: broker and result backend come from REDIS_URL (finalise()); the
    beat schedule lives in workers/schedule.py beside the tasks it names."""

    CELERY = {
        "task_ignore_result": True,
        "task_acks_late": True,
        "worker_prefetch_multiplier": 1,
        "broker_connection_retry_on_startup": True,
        "include": ["workers.tasks", "workers.webhook_tasks"],
    }


class Config(
    AppSettings,
    DatabaseSettings,
    RedisSettings,
    ArgoSettings,
    AccountsSettings,
    MetricsSettings,
    MailSettings,
    CelerySettings,
    WebhookSettings,
):
    """Every setting, by concern (the mixins above), and how they are read."""

    @classmethod
    def build(cls, overrides: dict | None = None) -> dict:
        """Class defaults, then environment variables, then ``overrides``."""
        config = {k: getattr(cls, k) for k in dir(cls) if k.isupper()}
        for var, (key, kind) in ENV_SETTINGS.items():
            value = os.environ.get(var)
            if value not in (None, ""):
                config[key] = kind(value)
        config.update(overrides or {})
        cls.finalise(config)
        return config

    @classmethod
    def finalise(cls, config: dict) -> None:
        """Derive the settings that depend on others."""
        instance = Path(config.get("INSTANCE_DIR") or instance_dir())
        config["INSTANCE_DIR"] = str(instance)
        for name, filename in INSTANCE_SECRET_FILES.items():
            if not config.get(name):
                config[name] = instance_secret(filename, instance)
        config["ARGO_DB_PATH"] = config.get("ARGO_DB_PATH") or str(instance / "argo.db")
        config["DATABASE_URL"] = config.get("DATABASE_URL") or f"sqlite:///{instance / 'alpine.db'}"
        config["REDIS_URL"] = config.get("REDIS_URL") or embedded_redis_url(instance)
        uri = config.setdefault("SQLALCHEMY_DATABASE_URI", normalise_database_url(config["DATABASE_URL"]))

        engine = {
            # pool_pre_ping lets the app recover by itself after PostgreSQL restarts.
            "pool_pre_ping": True,
            "pool_recycle": config["DB_POOL_RECYCLE"],
        }
        if uri.startswith("postgresql"):
            engine.update(
                pool_size=config["DB_POOL_SIZE"],
                max_overflow=config["DB_MAX_OVERFLOW"],
                pool_timeout=config["DB_POOL_TIMEOUT"],
                connect_args={
                    "connect_timeout": config["DB_CONNECT_TIMEOUT"],
                    "options": f"-c statement_timeout={config['DB_STATEMENT_TIMEOUT_MS']}",
                },
            )
        elif uri.startswith("sqlite"):
            engine["connect_args"] = {"timeout": 15}
        engine.update(config.get("SQLALCHEMY_ENGINE_OPTIONS") or {})
        config["SQLALCHEMY_ENGINE_OPTIONS"] = engine

        config["JWT_ACCESS_TOKEN_EXPIRES"] = timedelta(seconds=config["JWT_ACCESS_TOKEN_SECONDS"])
        config["JWT_REFRESH_TOKEN_EXPIRES"] = timedelta(seconds=config["JWT_REFRESH_TOKEN_SECONDS"])

        # Flask-Caching over the same Redis, with the sub-second socket timeouts,
        # storing JSON only (app/core/json_cache.py: whoever writes to Redis must not run code here).
        config.setdefault("CACHE_TYPE", "app.core.json_cache.JSONRedisCache")
        config["CACHE_REDIS_URL"] = config["REDIS_URL"]
        config["CACHE_KEY_PREFIX"] = "alpine:"
        config["CACHE_OPTIONS"] = {
            "socket_timeout": config["REDIS_SOCKET_TIMEOUT"],
            "socket_connect_timeout": config["REDIS_CONNECT_TIMEOUT"],
        }

        config["REGISTRATION_RATE"] = parse_rate(config["REGISTRATION_RATE_LIMIT"])
        production = config.get("APP_ENV") == "production"
        for name, default in (
            ("WEBHOOK_ALLOW_PRIVATE", not production),
            ("WEBHOOK_REQUIRE_HTTPS", production),
        ):
            if config.get(name) is None:
                config[name] = default

        celery = dict(config["CELERY"])
        celery.setdefault("broker_url", config["REDIS_URL"])
        celery.setdefault("result_backend", config["REDIS_URL"])
        config["CELERY"] = celery


class DevelopmentConfig(Config):
    """The embedded stack (``./run``): SQLite + the embedded Redis."""

    APP_ENV = "development"
    # ./run's local SMTP sink (embedded.py): each message lands under instance/mail/.
    MAIL_SERVER = "127.0.0.1"
    MAIL_PORT = 8025


class TestingConfig(Config):
    APP_ENV = "testing"
    TESTING = True
    # Flush on every request so a test sees its counters without waiting.
    METRICS_FLUSH_INTERVAL = 0.0
    # Cheap argon2 so the suite stays fast (production keeps the defaults).
    PASSWORD_HASH_TIME_COST = 1
    PASSWORD_HASH_MEMORY_COST = 1024
    PASSWORD_HASH_PARALLELISM = 1
    # The suite registers many users from one address; tests of the limit lower it.
    REGISTRATION_RATE_LIMIT = "100000/hour"
    # No background poller: each feed request refreshes the window first, so a
    # test sees what it just stored in Argo (the poller has tests of its own).
    FEED_POLL_INTERVAL = 0.0


class ProductionConfig(Config):
    APP_ENV = "production"

    @classmethod
    def finalise(cls, config: dict) -> None:
        # Never generated here: every process of a production deployment must
        # share the same secrets, so they come from the environment.
        problems = [
            p
            for p in (secret_problem(name, config.get(name)) for name in ("SECRET_KEY", "JWT_SECRET_KEY"))
            if p
        ]
        for name in ("DATABASE_URL", "REDIS_URL"):
            if not config.get(name):
                problems.append(f"{name} must be set")
        if problems:
            raise RuntimeError("refusing to start in production: " + "; ".join(problems))
        super().finalise(config)


CONFIGS = {
    "development": DevelopmentConfig,
    "testing": TestingConfig,
    "production": ProductionConfig,
}


def config_for(env_name: str | None = None) -> type[Config]:
    name = (env_name or os.environ.get("APP_ENV") or "development").lower()
    try:
        return CONFIGS[name]
    except KeyError:
        raise RuntimeError(f"unknown APP_ENV {name!r}; expected one of {', '.join(CONFIGS)}") from None
