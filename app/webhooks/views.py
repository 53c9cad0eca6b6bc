"""/api/webhooks: a pro/elite user's push endpoints (service: app/webhooks/endpoints.py)."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from flask_jwt_extended import current_user, jwt_required

from app.accounts.auth_views import BEARER
from app.accounts.user_cache import CurrentUser
from app.webhooks import endpoints as service
from app.webhooks.schemas import (
    DeliveryListSchema,
    TestEventSchema,
    WebhookCreateSchema,
    WebhookListSchema,
    WebhookSchema,
    WebhookUpdateSchema,
    WebhookWithSecretSchema,
)
from httpkit.errors import Blueprint

blp = Blueprint("webhooks", __name__, url_prefix="/api/webhooks", description="Push: webhooks")


def _user() -> CurrentUser:
    """The caller, after the tier check (starter: 403 tier_required, before any validation)."""
    service.require_push_tier(current_user)
    return current_user


def tier_first(view: Callable[..., Any]) -> Callable[..., Any]:
    # Runs before flask-smorest parses the body, so a starter gets 403 whatever it sent.
    @wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        _user()
        return view(*args, **kwargs)

    return wrapper


@blp.route("", methods=["POST"])
@blp.doc(security=BEARER)
@jwt_required()
@tier_first
@blp.arguments(WebhookCreateSchema)
@blp.response(201, WebhookWithSecretSchema)
@blp.alt_response(403, response="FORBIDDEN", description="tier_required (starter)")
@blp.alt_response(409, response="CONFLICT", description="limit_reached (5 endpoints per user)")
def create(body: dict[str, Any]) -> dict[str, Any]:
    """Create an endpoint; its signing secret is shown only in this answer."""
    return service.public(service.create(current_user.id, body), with_secret=True)


@blp.route("", methods=["GET"])
@blp.doc(security=BEARER)
@jwt_required()
@tier_first
@blp.response(200, WebhookListSchema)
def list_endpoints() -> dict[str, list[dict[str, Any]]]:
    """The caller's endpoints (no secrets)."""
    return {"items": [service.public(e) for e in service.list_for(current_user.id)]}


@blp.route("/<int:endpoint_id>", methods=["GET"])
@blp.doc(security=BEARER)
@jwt_required()
@tier_first
@blp.response(200, WebhookSchema)
def get_endpoint(endpoint_id: int) -> dict[str, Any]:
    """One endpoint (404 for another user's)."""
    return service.public(service.get_owned(current_user.id, endpoint_id))


@blp.route("/<int:endpoint_id>", methods=["PATCH"])
@blp.doc(security=BEARER)
@jwt_required()
@tier_first
@blp.arguments(WebhookUpdateSchema)
@blp.response(200, WebhookSchema)
def update_endpoint(body: dict[str, Any], endpoint_id: int) -> dict[str, Any]:
    """Change the URL, filters or is_active (true re-enables a disabled endpoint)."""
    return service.public(service.update(current_user.id, endpoint_id, body))


@blp.route("/<int:endpoint_id>", methods=["DELETE"])
@blp.doc(security=BEARER)
@jwt_required()
@tier_first
@blp.response(204)
def delete_endpoint(endpoint_id: int) -> None:
    """Delete the endpoint, its pending messages and its delivery log."""
    service.delete(current_user.id, endpoint_id)


@blp.route("/<int:endpoint_id>/test", methods=["POST"])
@blp.doc(security=BEARER)
@jwt_required()
@tier_first
@blp.response(202, TestEventSchema)
def send_test(endpoint_id: int) -> dict[str, str]:
    """Queue a webhook.test event to this endpoint (sent by a worker)."""
    return {"message_id": service.send_test(current_user.id, endpoint_id)}


@blp.route("/<int:endpoint_id>/rotate-secret", methods=["POST"])
@blp.doc(security=BEARER)
@jwt_required()
@tier_first
@blp.response(200, WebhookWithSecretSchema)
def rotate_secret(endpoint_id: int) -> dict[str, Any]:
    """A new secret; for 24 h messages carry signatures by the old and the new one."""
    return service.public(service.rotate_secret(current_user.id, endpoint_id), with_secret=True)


@blp.route("/<int:endpoint_id>/deliveries", methods=["GET"])
@blp.doc(security=BEARER)
@jwt_required()
@tier_first
@blp.response(200, DeliveryListSchema)
def list_deliveries(endpoint_id: int) -> dict[str, list[dict[str, Any]]]:
    """The newest 100 delivery attempts, newest first."""
    return {"items": service.deliveries(current_user.id, endpoint_id)}
