"""Request/response schemas shared by auth, users and admin users."""

from __future__ import annotations

import marshmallow as ma
from marshmallow import validate

from app.accounts.rules import EMAIL_MAX, FULL_NAME_MAX, PASSWORD_MAX, PASSWORD_MIN
from app.accounts.tiers import TIER_NAMES


class NormalisedEmail(ma.fields.Email):
    """An email, stripped and lower-cased before validation."""

    def _deserialize(self, value, attr, data, **kwargs):
        if isinstance(value, str):
            value = value.strip().lower()
        return super()._deserialize(value, attr, data, **kwargs)


def email_field(**kwargs):
    return NormalisedEmail(validate=validate.Length(max=EMAIL_MAX), **kwargs)


def password_field(**kwargs):
    return ma.fields.String(
        validate=validate.Length(min=PASSWORD_MIN, max=PASSWORD_MAX), load_only=True, **kwargs
    )


class StrippedString(ma.fields.String):
    def _deserialize(self, value, attr, data, **kwargs):
        value = super()._deserialize(value, attr, data, **kwargs)
        return value.strip()


def full_name_field(**kwargs):
    return StrippedString(validate=validate.Length(min=1, max=FULL_NAME_MAX), **kwargs)


class UserSchema(ma.Schema):
    id = ma.fields.Integer(dump_only=True)
    email = ma.fields.String()
    full_name = ma.fields.String()
    tier = ma.fields.String(metadata={"enum": list(TIER_NAMES)})
    is_active = ma.fields.Boolean()
    is_verified = ma.fields.Boolean()
    is_admin = ma.fields.Boolean()
    created_at = ma.fields.DateTime()


class RegisterSchema(ma.Schema):
    email = email_field(required=True)
    password = password_field(required=True)
    full_name = full_name_field(required=True)


class LoginSchema(ma.Schema):
    email = NormalisedEmail(required=True)
    # Any length: a wrong password of any size is just invalid_credentials.
    password = ma.fields.String(required=True, load_only=True, validate=validate.Length(min=1, max=1024))


class TokenPairSchema(ma.Schema):
    access_token = ma.fields.String()
    refresh_token = ma.fields.String()
    token_type = ma.fields.String()
    expires_in = ma.fields.Integer(metadata={"description": "access token lifetime, seconds"})


class AccessTokenSchema(ma.Schema):
    access_token = ma.fields.String()
    expires_in = ma.fields.Integer()


class ProfileUpdateSchema(ma.Schema):
    full_name = full_name_field()
    email = email_field()


class PasswordChangeSchema(ma.Schema):
    current_password = ma.fields.String(
        required=True, load_only=True, validate=validate.Length(min=1, max=1024)
    )
    new_password = password_field(required=True)


class AdminUserQuerySchema(ma.Schema):
    page = ma.fields.Integer(load_default=1, validate=validate.Range(min=1))
    per_page = ma.fields.Integer(load_default=20, validate=validate.Range(min=1, max=100))
    tier = ma.fields.String(validate=validate.OneOf(TIER_NAMES))
    q = ma.fields.String(validate=validate.Length(max=200))

    @ma.pre_load
    def _blank_is_absent(self, data, **kwargs):
        # "?tier=&q=" (empty) means "no filter", as a URL template filled with blanks sends.
        return {k: v for k, v in data.items() if not (k in ("tier", "q") and v == "")}


class AdminUserPageSchema(ma.Schema):
    items = ma.fields.List(ma.fields.Nested(UserSchema))
    page = ma.fields.Integer()
    per_page = ma.fields.Integer()
    total = ma.fields.Integer()


class StrictBoolean(ma.fields.Boolean):
    """JSON true/false only: ``truthy={True}`` alone still lets 1 and 0 through (1 == True)."""

    def _deserialize(self, value, attr, data, **kwargs):
        if not isinstance(value, bool):
            raise self.make_error("invalid", input=value)
        return value


class AdminUserUpdateSchema(ma.Schema):
    tier = ma.fields.String(validate=validate.OneOf(TIER_NAMES))
    is_active = StrictBoolean()
    is_admin = StrictBoolean()
