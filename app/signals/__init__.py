"""The /api/signals endpoints."""
from __future__ import annotations

from argo_app.http_errors import Blueprint

blp = Blueprint("signals", __name__, url_prefix="/api/signals", description="Signals")

from app.signals import views  # noqa: E402,F401  (routes register on blp)
