"""Request and response bodies of /api/keys."""

from __future__ import annotations

import marshmallow as ma
from marshmallow import validate

from app.accounts.schemas import StrippedString
from app.keys.service import DEFAULT_SCOPES, SCOPES

NAME_MAX = 100


class KeyCreateSchema(ma.Schema):
    name = StrippedString(required=True, validate=validate.Length(min=1, max=NAME_MAX))
    scopes = ma.fields.List(
        ma.fields.String(validate=validate.OneOf(SCOPES)),
        validate=validate.Length(min=1, max=len(SCOPES) * 2),
        metadata={"description": f"default {list(DEFAULT_SCOPES)}; one or more of {list(SCOPES)}"},
    )


class KeySchema(ma.Schema):
    id = ma.fields.Integer()
    name = ma.fields.String()
    prefix = ma.fields.String(metadata={"description": "shown in lists to tell keys apart"})
    scopes = ma.fields.List(ma.fields.String(), attribute="scope_list")
    created_at = ma.fields.DateTime()
    last_used_at = ma.fields.DateTime(allow_none=True)


class NewKeySchema(KeySchema):
    key = ma.fields.String(metadata={"description": "the key itself: shown this once, never again"})


class KeyListSchema(ma.Schema):
    items = ma.fields.List(ma.fields.Nested(KeySchema))
