"""Liveness and readiness: /health (process up) and /ready (DB, Redis, Argo)."""

from __future__ import annotations

import logging

from flask import Blueprint
from sqlalchemy import text

from app.extensions import db, redis_store
from httpkit.errors import error_response

log = logging.getLogger(__name__)

blp = Blueprint("health", __name__)


@blp.get("/health")
def health():
    return {"status": "ok"}


def _check_database() -> bool:
    try:
        db.session.execute(text("SELECT 1"))
        return True
    except Exception as exc:
        log.warning("readiness: database check failed: %s", exc.__class__.__name__)
        db.session.rollback()
        return False


def _check_redis() -> bool:
    try:
        return bool(redis_store.client.ping())
    except Exception as exc:
        log.warning("readiness: redis check failed: %s", exc.__class__.__name__)
        return False


def _check_argo() -> bool:
    from app.feed.argo_client import argo_client

    return argo_client.is_healthy()


CHECKS = {"database": _check_database, "redis": _check_redis, "argo": _check_argo}


@blp.get("/ready")
def ready():
    status = {name: ("up" if check() else "down") for name, check in CHECKS.items()}
    down = [name for name, state in status.items() if state == "down"]
    if down:
        return error_response(
            503, "not_ready", f"Not ready: {', '.join(down)} unavailable.", details={"checks": status}
        )
    return {"status": "ready", "checks": status}
