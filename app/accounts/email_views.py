"""POST /api/auth/verify-email, /resend-verification, /forgot-password, /reset-password.

Routes on the auth blueprint (app/accounts/auth_views.py); importing this
module adds them, so create_app imports it before registering that blueprint.
Errors are domain errors (invalid_token, rate_limited, validation_error),
answered by app/core/errors.py.
"""

from __future__ import annotations

from flask_jwt_extended import current_user, jwt_required

from app.accounts import email_flows
from app.accounts.auth_views import BEARER, blp, client_ip
from app.accounts.email_schemas import (
    AcceptedSchema,
    ForgotPasswordSchema,
    ResetPasswordSchema,
    VerifyEmailSchema,
)
from app.accounts.schemas import UserSchema


@blp.post("/verify-email")
@blp.arguments(VerifyEmailSchema)
@blp.response(200, UserSchema)
@blp.alt_response(400, response="BAD_REQUEST", description="invalid_token: unknown, used, expired or altered")
def verify_email(body):
    """Confirm the email address with the token from the verification mail (single use, 48 h)."""
    return email_flows.verify_email(body["token"])


@blp.post("/resend-verification")
@jwt_required()
@blp.response(202, AcceptedSchema)
@blp.alt_response(429, response="TOO_MANY_REQUESTS", description="rate_limited: 3 per hour (Retry-After)")
@blp.doc(security=BEARER)
def resend_verification():
    """Send a new verification mail (none when already verified); at most 3 an hour."""
    email_flows.resend_verification(current_user.id)
    return {"message": "If the address still needs confirming, a new link is on its way."}


@blp.post("/forgot-password")
@blp.arguments(ForgotPasswordSchema)
@blp.response(202, AcceptedSchema)
@blp.alt_response(429, response="TOO_MANY_REQUESTS", description="rate_limited: too many from this IP")
def forgot_password(body):
    """Mail a password-reset link if the address has an account: 202 either way, in about the same time."""
    email_flows.forgot_password(body["email"], client_ip())
    # The same words whether or not the address has an account.
    return {"message": "If the address has an account, a password reset link is on its way."}


@blp.post("/reset-password")
@blp.arguments(ResetPasswordSchema)
@blp.response(204)
@blp.alt_response(400, response="BAD_REQUEST", description="invalid_token: unknown, used, expired or altered")
def reset_password(body):
    """Set a new password with the token from the reset mail (single use, 1 h).

    Every token issued before is refused from then on, and the login lockouts
    of the address are lifted.
    """
    email_flows.reset_password(body["token"], body["new_password"])
    return None
