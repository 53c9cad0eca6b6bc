"""The /api/admin endpoints: one module per resource, all on one blueprint.

Every route is admin-only, checked on the server before any validation.
"""
from __future__ import annotations

from argo_app.http_errors import Blueprint

blp = Blueprint("admin", __name__, url_prefix="/api/admin", description="Admin")
