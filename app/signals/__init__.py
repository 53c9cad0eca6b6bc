"""The /api/signals endpoints."""
from __future__ import annotations

from app.auth.request_auth import quota_hook, quota_headers
from argo_app.http_errors import Blueprint

blp = Blueprint("signals", __name__, url_prefix="/api/signals", description="Signals")
# Per-tier daily quotas apply to every feed request (and only to those).
blp.before_request(quota_hook)
blp.after_request(quota_headers)

from app.signals import views  # noqa: E402,F401  (routes register on blp)
