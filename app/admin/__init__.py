"""The /api/admin endpoints: one module per resource, all on one blueprint.

Every route is admin-only, checked on the server before any validation.
"""

from __future__ import annotations

from httpkit.errors import Blueprint

blp = Blueprint("admin", __name__, url_prefix="/api/admin", description="Admin")

# JWT + is_admin for every route of every admin module, before any argument
# parsing (403 forbidden for non-admins). app/accounts/request_auth.py.
from app.accounts.request_auth import require_admin  # noqa: E402

blp.before_request(require_admin)

from app.admin import (  # noqa: E402,F401  (their routes join blp)
    analytics,
    request_metrics,
    security,
    users,  # noqa: E402,F401  (routes register on blp)
)
