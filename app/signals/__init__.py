"""The /api/signals endpoints."""
from __future__ import annotations

from argo_app.http_errors import Blueprint

blp = Blueprint("signals", __name__, url_prefix="/api/signals", description="Signals")
