"""POST/GET /api/keys, DELETE /api/keys/<id>: a logged-in user manages their bots' keys.

Only a login (JWT) may manage keys: a request made with a key is refused here
with 403 ``forbidden`` (auth.py: outside every key scope).
"""

from __future__ import annotations

from typing import Any

from flask_jwt_extended import current_user, jwt_required

from app.accounts.auth_views import BEARER
from app.keys import service
from app.keys.models import ApiKey
from app.keys.schemas import KeyCreateSchema, KeyListSchema, NewKeySchema
from httpkit.errors import Blueprint

blp = Blueprint("keys", __name__, url_prefix="/api/keys", description="API keys for bots")


@blp.post("")
@jwt_required()
@blp.arguments(KeyCreateSchema)
@blp.response(201, NewKeySchema)
@blp.alt_response(409, response="CONFLICT", description="limit_reached: already 10 live keys")
@blp.doc(security=BEARER)
def create_key(body: dict[str, Any]) -> ApiKey:
    """Create a key; the response's ``key`` is shown this once (only its hash is kept)."""
    row, key = service.create_key(current_user.id, body["name"], body.get("scopes"))
    row.key = key  # serialised once, never stored
    return row


@blp.get("")
@jwt_required()
@blp.response(200, KeyListSchema)
@blp.doc(security=BEARER)
def list_keys() -> dict[str, list[ApiKey]]:
    """The caller's live keys (never the key itself)."""
    return {"items": service.list_keys(current_user.id)}


@blp.delete("/<int:key_id>")
@jwt_required()
@blp.response(204)
@blp.alt_response(404, response="NOT_FOUND", description="no such key of yours")
@blp.doc(security=BEARER)
def revoke_key(key_id: int) -> None:
    """Revoke a key: refused from the very next request, on every worker."""
    service.revoke_key(current_user.id, key_id)
    return None
