"""The /api/auth endpoints."""
from __future__ import annotations

from argo_app.http_errors import Blueprint

blp = Blueprint("auth", __name__, url_prefix="/api/auth", description="Auth")

from app.auth import routes  # noqa: E402,F401  (routes register on blp)
