"""Operations endpoints: liveness and readiness."""

from __future__ import annotations

from flask import current_app

from httpkit.errors import APIError, Blueprint

from .schemas import StatusSchema

blp = Blueprint("ops", __name__, description="Liveness and readiness")


@blp.route("/health")
@blp.response(200, StatusSchema)
def health():
    """The process is up (touches nothing else)."""
    return {"status": "ok"}


@blp.route("/ready")
@blp.response(200, StatusSchema)
@blp.alt_response(503, description="A dependency is down; details name it")
def ready():
    """The signal store answers a query."""
    if not current_app.extensions["argo_store"].ping():
        raise APIError(503, "service_unavailable", "The signal store is not reachable.", {"database": "down"})
    return {"status": "ok", "database": "up"}
