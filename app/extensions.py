"""Unbound extension objects, bound to an app with ``init_app`` in create_app().

Nothing here opens a connection: clients are created lazily, per process, on
first use (a gunicorn worker forked after ``preload_app`` must not share the
parent's sockets).
"""

from __future__ import annotations

import os
import threading
from typing import TYPE_CHECKING

import redis
from flask import Flask
from flask_caching import Cache
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy

from app.accounts.jwt_adapter import CachingJWTManager as JWTManager
from app.core.sqlbase import Base
from httpkit.errors import Api


class LazyRedis:
    """One redis-py client per process, built on first use from ``REDIS_URL``."""

    def __init__(self) -> None:
        self._settings: dict | None = None
        self._client: redis.Redis | None = None
        self._pid: int | None = None
        self._lock = threading.Lock()

    def init_app(self, app: Flask) -> None:
        self.configure(app.config)
        app.extensions["redis"] = self

    def configure(self, config) -> LazyRedis:
        """Point at ``REDIS_URL`` with the configured sub-second timeouts."""
        self._settings = {
            "url": config["REDIS_URL"],
            "socket_timeout": config["REDIS_SOCKET_TIMEOUT"],
            "socket_connect_timeout": config["REDIS_CONNECT_TIMEOUT"],
        }
        self._client = None
        return self

    @property
    def client(self) -> redis.Redis:
        if self._client is None or self._pid != os.getpid():
            with self._lock:
                if self._client is None or self._pid != os.getpid():
                    if self._settings is None:
                        raise RuntimeError("redis_store.init_app(app) was not called")
                    s = self._settings
                    self._client = redis.Redis.from_url(
                        s["url"],
                        socket_timeout=s["socket_timeout"],
                        socket_connect_timeout=s["socket_connect_timeout"],
                        health_check_interval=30,
                    )
                    self._pid = os.getpid()
        return self._client


db = SQLAlchemy(model_class=Base)
# Every model subclasses ``Model``, which is ``db.Model`` at run time. mypy cannot
# take an attribute of an instance as a base class, so it checks models against
# ``Base``, the declarative base ``db.Model`` extends (we never use its ``query``).
if TYPE_CHECKING:
    Model = Base
else:
    Model = db.Model
migrate = Migrate()
jwt = JWTManager()
cache = Cache()
api = Api()
redis_store = LazyRedis()
