"""The feed tests' fixtures live in tests/feed_fixtures.py (shared with tests/services)."""
from tests.feed_fixtures import argo, feed_app, tier_headers  # noqa: F401
