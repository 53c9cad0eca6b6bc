"""The /api/users endpoints."""
from __future__ import annotations

from argo_app.http_errors import Blueprint

blp = Blueprint("users", __name__, url_prefix="/api/users", description="Users")

from app.users import routes  # noqa: E402,F401  (routes register on blp)
