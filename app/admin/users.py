"""GET /api/admin/users, GET and PATCH /api/admin/users/<id> (admin guard: app/admin/__init__.py).

Ids in the path are bounded (app/core/routing.py): one past 64 bits is a 404 like
any other unknown id.
"""

from __future__ import annotations

from flask import request
from flask_jwt_extended import current_user

from app.accounts import admin_changes
from app.accounts import users as user_service
from app.accounts.auth_views import BEARER
from app.accounts.schemas import AdminUserPageSchema, AdminUserQuerySchema, AdminUserUpdateSchema, UserSchema
from app.admin import blp
from httpkit.errors import APIError


@blp.get("/users")
@blp.arguments(AdminUserQuerySchema, location="query")
@blp.response(200, AdminUserPageSchema)
@blp.alt_response(403, response="FORBIDDEN", description="forbidden: not an admin")
@blp.doc(security=BEARER)
def list_users(args):
    """Users by id, paged; filter by tier, ``q`` = substring of email or full name."""
    items, total = user_service.list_users(args["page"], args["per_page"], args.get("tier"), args.get("q"))
    return {"items": items, "page": args["page"], "per_page": args["per_page"], "total": total}


@blp.get("/users/<int:user_id>")
@blp.response(200, UserSchema)
@blp.alt_response(403, response="FORBIDDEN", description="forbidden: not an admin")
@blp.alt_response(404, response="NOT_FOUND", description="no such user")
@blp.doc(security=BEARER)
def get_user(user_id):
    """One user by id."""
    user = user_service.get(user_id)
    if user is None:
        raise APIError(404, "not_found", "No such user.")
    return user


@blp.patch("/users/<int:user_id>")
@blp.arguments(AdminUserUpdateSchema)
@blp.response(200, UserSchema)
@blp.alt_response(
    403,
    response="FORBIDDEN",
    description="forbidden: not an admin, or an admin deactivating/demoting themself",
)
@blp.alt_response(404, response="NOT_FOUND", description="no such user")
@blp.doc(security=BEARER)
def update_user(body, user_id):
    """Change tier / is_active / is_admin; audited; effective on the user's next request."""
    actor = admin_changes.Actor(id=current_user.id, ip=request.remote_addr, via="api")
    return admin_changes.admin_update(user_id, body, actor)
