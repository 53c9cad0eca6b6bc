"""Bodies of the account-mail endpoints."""

from __future__ import annotations

import marshmallow as ma
from marshmallow import validate

from app.accounts.schemas import email_field, password_field

# Tokens we mint are 43 characters; anything up to this is looked up (and is
# simply invalid_token), longer is a validation error.
TOKEN_MAX = 512


def token_field():
    return ma.fields.String(required=True, load_only=True, validate=validate.Length(min=1, max=TOKEN_MAX))


class VerifyEmailSchema(ma.Schema):
    token = token_field()


class ForgotPasswordSchema(ma.Schema):
    email = email_field(required=True)


class ResetPasswordSchema(ma.Schema):
    token = token_field()
    new_password = password_field(required=True)


class AcceptedSchema(ma.Schema):
    """A 202's body: the request is accepted; what happens next is said in words only."""

    message = ma.fields.String()
