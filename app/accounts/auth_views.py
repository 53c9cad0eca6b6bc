"""POST /api/auth/register, /login, /refresh, /logout."""

from __future__ import annotations

from flask import request
from flask_jwt_extended import current_user, get_jwt, jwt_required

from app.accounts import email_flows, login_throttle, registration_throttle, tokens
from app.accounts import users as user_service
from app.accounts.rules import AccountError
from app.accounts.schemas import AccessTokenSchema, LoginSchema, RegisterSchema, TokenPairSchema, UserSchema
from httpkit.errors import APIError, Blueprint

blp = Blueprint("auth", __name__, url_prefix="/api/auth", description="Auth")

BEARER: list[dict[str, list[str]]] = [{"bearerAuth": []}]  # OpenAPI security requirement


def client_ip() -> str | None:
    # Behind a reverse proxy, wrap the app in werkzeug's ProxyFix so this is the client.
    return request.remote_addr


@blp.post("/register")
@blp.arguments(RegisterSchema)
@blp.response(201, UserSchema)
@blp.alt_response(409, response="CONFLICT", description="email_taken")
@blp.alt_response(429, response="TOO_MANY_REQUESTS", description="rate_limited (Retry-After)")
def register(body):
    """Create an account (tier starter); at most REGISTRATION_RATE_LIMIT per source IP."""
    ip = client_ip()
    decision = registration_throttle.begin(ip)
    if not decision.allowed:
        raise user_service.Throttled(
            "Too many registrations from this address; try again later.", decision.retry_after, decision.scope
        )
    try:
        user = user_service.create_user(body["email"], body["password"], body["full_name"])
    except AccountError as exc:
        if exc.status == 422:  # nothing created, and no address probed: not counted
            registration_throttle.give_back(ip)
        raise
    email_flows.send_verification(user)  # queued for a Celery worker: SMTP never delays this answer
    return user


@blp.post("/login")
@blp.arguments(LoginSchema)
@blp.response(200, TokenPairSchema)
@blp.alt_response(401, response="UNAUTHORIZED", description="invalid_credentials")
@blp.alt_response(403, response="FORBIDDEN", description="inactive_user")
@blp.alt_response(429, response="TOO_MANY_REQUESTS", description="rate_limited (Retry-After)")
def login(body):
    """Exchange email + password for an access and a refresh token."""
    email, ip = body["email"], client_ip()
    # Counted as a failure before the password is checked (atomic), given back on success.
    decision = login_throttle.begin_login(email, ip)
    if not decision.allowed:
        login_throttle.login_refused(email, ip)
        raise user_service.Throttled(
            "Too many failed login attempts; try again later.", decision.retry_after, decision.scope
        )
    user = user_service.authenticate(email, body["password"])
    if user is None:
        login_throttle.login_failed(email, ip, decision)
        raise APIError(401, "invalid_credentials", "The email or password is incorrect.")
    if not user.is_active:
        login_throttle.login_failed(email, ip, decision, reason="inactive_user")
        raise APIError(403, "inactive_user", "This account has been deactivated.")
    login_throttle.login_succeeded(email, ip, decision)
    user_service.record_login(user.id)
    return tokens.issue_tokens(user)


@blp.post("/refresh")
@jwt_required(refresh=True)
@blp.response(200, AccessTokenSchema)
@blp.alt_response(401, response="UNAUTHORIZED", description="token_* errors")
@blp.doc(security=BEARER)
def refresh():
    """A new access token for the refresh token's login session."""
    return tokens.refresh_access(get_jwt())


@blp.post("/logout")
@jwt_required(verify_type=False)
@blp.response(204)
@blp.alt_response(401, response="UNAUTHORIZED", description="token_* errors")
@blp.doc(security=BEARER)
def logout():
    """Revoke this login session: the presented token and its refresh/access sibling."""
    tokens.revoke_session(get_jwt(), current_user.id)
    return None
