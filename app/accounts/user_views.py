"""GET/PATCH /api/users/me, POST /api/users/me/password."""

from __future__ import annotations

from flask import Response
from flask_jwt_extended import current_user, get_current_user, jwt_required

from app.accounts import email_flows
from app.accounts import users as user_service
from app.accounts.auth_views import BEARER, client_ip
from app.accounts.schemas import PasswordChangeSchema, ProfileUpdateSchema, UserSchema
from app.keys import KEY_OR_BEARER
from httpkit.doc_only import doc_only
from httpkit.errors import APIError, Blueprint

blp = Blueprint("users", __name__, url_prefix="/api/users", description="Users")


@blp.get("/me")
@jwt_required()
# Documentation only (httpkit/doc_only.py): the view returns a ready Response,
# so flask-smorest's four wrappers would run per request for nothing.
@doc_only(
    blp.response(200, UserSchema),
    blp.alt_response(401, response="UNAUTHORIZED", description="token_* errors"),
    blp.alt_response(403, response="FORBIDDEN", description="inactive_user"),
    blp.doc(security=KEY_OR_BEARER),  # a login or an API key (account:read)
)
def me():
    """The authenticated user (served from the user cache: no SQL in steady state)."""
    # Encoded directly (UserSchema documents it; a test holds the two equal):
    # a marshmallow dump was the largest single cost of this endpoint.
    return Response(get_current_user().public_json(), mimetype="application/json")


@blp.patch("/me")
@jwt_required()
@blp.arguments(ProfileUpdateSchema)
@blp.response(200, UserSchema)
@blp.alt_response(409, response="CONFLICT", description="email_taken")
@blp.doc(security=BEARER)
def update_me(body):
    """Change full name and/or email (a new email is unverified and gets a verification mail)."""
    before = current_user.email
    user = user_service.update_profile(
        current_user.id, full_name=body.get("full_name"), email=body.get("email")
    )
    if user.email != before:
        email_flows.email_changed(user)
    return user


@blp.post("/me/password")
@jwt_required()
@blp.arguments(PasswordChangeSchema)
@blp.response(204)
@blp.alt_response(401, response="UNAUTHORIZED", description="invalid_credentials: current password wrong")
@blp.alt_response(
    429,
    response="TOO_MANY_REQUESTS",
    description="rate_limited: 5 wrong current passwords from this IP in 15 min",
)
@blp.doc(security=BEARER)
def change_password(body):
    """Change the password; every token issued before is refused from then on."""
    ok = user_service.change_password(
        current_user.id, body["current_password"], body["new_password"], ip=client_ip()
    )
    if not ok:
        raise APIError(401, "invalid_credentials", "The current password is incorrect.")
    return None
