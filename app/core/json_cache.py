"""Flask-Caching's Redis backend with a JSON serializer: Redis is not trusted with code.

cachelib's default Redis serializer stores ``!`` + pickle bytes and unpickles
whatever it reads back, so anyone who can write to that Redis (another local
user of an unprotected server, a leaked password) could make a web worker run
code, or plant a user dict that says ``is_admin: true``. This backend stores
JSON only. A value that is not JSON (a planted pickle, garbage, a truncated
write) is never executed: it reads as a miss, so the caller falls back to the
database and overwrites the entry.

Registered the documented way: ``CACHE_TYPE = "app.core.json_cache.JSONRedisCache"``
(a ``BaseCache`` subclass; Flask-Caching builds it through the inherited
``factory``). Integers are stored as their decimal ASCII (``json.dumps(7)`` is
``b"7"``), so cachelib's ``inc``/``dec`` (Redis INCRBY) keep working.
"""

from __future__ import annotations

import json
import logging
from typing import Any

from cachelib.serializers import BaseSerializer
from flask_caching.backends.rediscache import RedisCache

log = logging.getLogger(__name__)


class JSONRedisSerializer(BaseSerializer):
    """``dumps``/``loads`` for Redis: JSON in, JSON out, anything else is a miss."""

    def dumps(self, value: Any, protocol: int | None = None) -> bytes:
        # A value JSON cannot represent is a programming error: raise, never fall back to pickle.
        return json.dumps(value, separators=(",", ":"), allow_nan=False).encode()

    def loads(self, value: bytes | None) -> Any:
        if value is None:
            return None
        try:
            return json.loads(value)
        except ValueError:  # includes UnicodeDecodeError (pickle bytes are not UTF-8)
            # One line per bad value (the caller then overwrites it from SQL), and
            # never the value itself: it is an attacker's payload or a user's data.
            log.warning(
                "cache entry is not JSON (%d bytes, starting %r); treated as a miss",
                len(value),
                bytes(value[:1]),
            )
            return None

    # FileSystemCache-style stream methods: not used by a Redis cache, and the
    # pickle-based ones inherited from BaseSerializer must not be reachable.
    def dump(self, value: Any, f, protocol: int | None = None) -> None:
        f.write(self.dumps(value))

    def load(self, f) -> Any:
        return self.loads(f.read())


class JSONRedisCache(RedisCache):
    """Flask-Caching's ``RedisCache`` storing JSON instead of pickles."""

    # cachelib leaves the attribute unannotated, so mypy takes its pickle
    # RedisSerializer as the type; RedisCache only calls dumps/loads, which this has.
    serializer = JSONRedisSerializer()  # type: ignore[assignment]
