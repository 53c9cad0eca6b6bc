"""The accounts domain's rules: what a valid email, password and tier is, and
the errors raised when one is broken (answered by the API's one handler,
app/core/errors.py, and reported by the CLI)."""

from __future__ import annotations

from marshmallow import ValidationError
from marshmallow.validate import Email

from app.accounts.password_strength import weakness
from app.accounts.tiers import TIERS
from app.core.errors import DomainError

PASSWORD_MIN, PASSWORD_MAX = 10, 128
FULL_NAME_MAX = 200
EMAIL_MAX = 254


class AccountError(DomainError, ValueError):
    """A rule of the accounts domain was broken; ``code`` is the API's error code."""

    code = "validation_error"
    status = 422

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field  # the request field at fault, for a 422's details

    def details(self) -> dict:
        if self.status == 422:  # shaped like the schema's own validation errors
            return {"json": {self.field or "_": [str(self)]}}
        return {}


class EmailTaken(AccountError):
    code, status = "email_taken", 409


class UserNotFound(AccountError):
    code, status = "not_found", 404


class SelfLockout(AccountError):
    code, status = "forbidden", 403


class Throttled(AccountError):
    code, status = "rate_limited", 429

    def __init__(self, message: str, retry_after: int, scope: str) -> None:
        super().__init__(message)
        self.retry_after, self.scope = retry_after, scope

    def details(self) -> dict:
        return {"scope": self.scope, "retry_after": self.retry_after}

    def headers(self) -> dict:
        return {"Retry-After": str(self.retry_after)}


_email_validator = Email(error="Not a valid email address.")


def normalise_email(email: str) -> str:
    return (email or "").strip().lower()


def check_email(email: str) -> str:
    email = normalise_email(email)
    if not email or len(email) > EMAIL_MAX:
        raise AccountError("Not a valid email address.")
    try:
        _email_validator(email)
    except ValidationError:
        raise AccountError("Not a valid email address.") from None
    return email


def check_password(
    password: str, *, email: str | None = None, full_name: str | None = None, field: str = "password"
) -> str:
    """Length, then guessability (zxcvbn, with the account's email and name as user inputs)."""
    if not isinstance(password, str) or not PASSWORD_MIN <= len(password) <= PASSWORD_MAX:
        raise AccountError(f"Password must be {PASSWORD_MIN} to {PASSWORD_MAX} characters long.", field)
    why = weakness(password, email, full_name)
    if why:
        raise AccountError(why, field)
    return password


def check_tier(tier: str) -> str:
    if tier not in TIERS:
        raise AccountError(f"Unknown tier {tier!r}; expected one of {', '.join(TIERS)}.")
    return tier
