"""The auth pipeline reads the user cache under Flask-Caching's own key names."""

from __future__ import annotations

from app.accounts import user_cache
from app.core import redis_guard
from app.extensions import cache


def test_the_pipeline_key_is_the_key_flask_caching_writes(app):
    with app.app_context():
        entry = {"marker": "written through Flask-Caching"}
        cache.set(user_cache.cache_key(424242), entry)
        try:
            raw = redis_guard.client().get(user_cache.full_key(424242))
            assert raw is not None, "CACHE_KEY_PREFIX no longer names Flask-Caching's keys"
            assert user_cache._backend().serializer.loads(raw) == entry
        finally:
            cache.delete(user_cache.cache_key(424242))
        assert redis_guard.client().get(user_cache.full_key(424242)) is None
