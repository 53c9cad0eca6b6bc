"""GET /api/users/me/usage."""

from __future__ import annotations

from flask_jwt_extended import current_user, jwt_required

from app.keys import KEY_OR_BEARER
from app.usage import service
from app.usage.schemas import UsageQuerySchema, UsageSchema
from httpkit.errors import Blueprint

blp = Blueprint("usage", __name__, url_prefix="/api/users", description="Usage")


@blp.get("/me/usage")
@jwt_required()
@blp.arguments(UsageQuerySchema, location="query")
@blp.response(200, UsageSchema)
@blp.alt_response(401, response="UNAUTHORIZED", description="token_* errors")
@blp.doc(security=KEY_OR_BEARER)  # a login or an API key (account:read)
def my_usage(args: dict) -> dict:
    """Today's quota and the last ``days`` UTC days (1..90, default 30), newest first."""
    return service.report(current_user.id, current_user.tier, args["days"])
