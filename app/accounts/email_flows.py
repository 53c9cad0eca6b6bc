"""Email verification and password reset, as the API offers them.

Mail is queued (app/accounts/mail_outbox.py), never sent here. Throttles are
the atomic counters of app/accounts/throttle.py (Redis, or process memory when
Redis is down): resends per user, reset mails per email, forgot-password calls
per IP. ``forgot_password`` does the same work for known and unknown addresses
(the worker looks the address up), so neither status, body nor time tells
whether an account exists.
"""

from __future__ import annotations

import hashlib

from flask import current_app

from app.accounts import email_tokens, login_throttle, mail_outbox, throttle
from app.accounts import users as user_service
from app.accounts.mail_models import RESET, VERIFY
from app.accounts.models import User
from app.accounts.throttle import Limit
from app.core.errors import DomainError
from app.extensions import db
from config import parse_rate


class InvalidToken(DomainError):
    """Unknown, used, expired or altered token."""

    status, code = 400, "invalid_token"

    def __init__(self, message: str = "This link is invalid, used or expired; ask for a new one.") -> None:
        super().__init__(message)


def _limit(setting: str, key: str, scope: str) -> Limit:
    count, window = parse_rate(current_app.config[setting])
    return Limit(key, int(count), int(window), scope)


def _email_key(email: str) -> str:
    # Hashed: bounded key length, and no address in Redis.
    return hashlib.sha256(email.encode()).hexdigest()[:32]


# -- verification ---------------------------------------------------------------
def _resend_limit(user_id: int) -> Limit:
    return _limit("VERIFICATION_RESEND_LIMIT", f"alpine:mail:verify:{user_id}", "user")


def send_verification(user: User) -> None:
    """On registration (not throttled beyond registration's own limit)."""
    mail_outbox.queue(VERIFY, user.email, user.id)


def resend_verification(user_id: int) -> None:
    """Raises user_service.Throttled past VERIFICATION_RESEND_LIMIT per user."""
    user = user_service.get(user_id)
    if user is None:
        raise user_service.UserNotFound("No such user.")
    if user.is_verified:
        return  # nothing to confirm; not counted
    decision = throttle.hit([_resend_limit(user.id)])
    if not decision.allowed:
        raise user_service.Throttled(
            "Too many verification emails; try again later.", decision.retry_after, decision.scope
        )
    mail_outbox.queue(VERIFY, user.email, user.id)


def email_changed(user: User) -> None:
    """A new address gets its verification mail, within the resend limit (past it,
    none: changing the email must not become a way to mail any address at will;
    the user can ask with resend-verification later)."""
    decision = throttle.hit([_resend_limit(user.id)])
    if decision.allowed:
        mail_outbox.queue(VERIFY, user.email, user.id)


def verify_email(token: str) -> User:
    redeemed = email_tokens.consume(VERIFY, token)
    user = user_service.get(redeemed.user_id) if redeemed else None
    if redeemed is None or user is None or user.email != redeemed.email:
        db.session.rollback()
        raise InvalidToken
    user_service.mark_verified(user)  # commits the token's use with the flag
    return user


# -- password reset -------------------------------------------------------------
def forgot_password(email: str, ip: str | None) -> None:
    """Raises user_service.Throttled (scope ip) past PASSWORD_RESET_IP_LIMIT; past the
    per-email limit it quietly queues nothing (the answer must not differ)."""
    decision = throttle.hit(
        [
            _limit("PASSWORD_RESET_IP_LIMIT", f"alpine:mail:reset:ip:{ip or 'unknown'}", "ip"),
            _limit("PASSWORD_RESET_EMAIL_LIMIT", f"alpine:mail:reset:email:{_email_key(email)}", "email"),
        ]
    )
    if not decision.allowed:
        if decision.scope == "ip":
            raise user_service.Throttled(
                "Too many password reset requests from this address; try again later.",
                decision.retry_after,
                decision.scope,
            )
        return
    mail_outbox.queue(RESET, email)


def reset_password(token: str, new_password: str) -> User:
    """Set a new password with a reset token: bumps token_version (every older
    token dies), uses up every reset token of the user, lifts the lockouts."""
    found = email_tokens.peek(RESET, token)
    user = user_service.get(found.user_id) if found else None
    if found is None or user is None or found.token_version != user.token_version:
        # A password change since the mail was sent makes its link stale.
        raise InvalidToken
    # A weak password is refused before the token is used up: the link still works.
    user_service.check_password(
        new_password, email=user.email, full_name=user.full_name, field="new_password"
    )
    if email_tokens.consume(RESET, token, mail_id=found.mail_id) is None:
        db.session.rollback()
        raise InvalidToken  # a concurrent redemption won
    email_tokens.retire_unused(user.id, RESET)
    user_service.set_new_password(user, new_password)  # commits all of it, drops the cache entry
    login_throttle.unlock(user.email, user.id)
    return user
