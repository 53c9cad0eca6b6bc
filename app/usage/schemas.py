"""GET /api/users/me/usage: its query and its answer."""

from __future__ import annotations

import marshmallow as ma
from marshmallow import validate

MAX_DAYS = 90


class UsageQuerySchema(ma.Schema):
    days = ma.fields.Integer(load_default=30, validate=validate.Range(min=1, max=MAX_DAYS))


class QuotaSchema(ma.Schema):
    limit = ma.fields.Integer()
    used_today = ma.fields.Integer()
    remaining = ma.fields.Integer()
    resets_at = ma.fields.String(metadata={"description": "next UTC midnight, ISO 8601"})


class DayUsageSchema(ma.Schema):
    date = ma.fields.String(metadata={"description": "UTC date, YYYY-MM-DD"})
    feed_requests = ma.fields.Integer()
    signals_delivered = ma.fields.Integer()


class KeyUsageSchema(ma.Schema):
    id = ma.fields.Integer()
    name = ma.fields.String()
    requests_today = ma.fields.Integer()


class UsageSchema(ma.Schema):
    quota = ma.fields.Nested(QuotaSchema)
    days = ma.fields.List(ma.fields.Nested(DayUsageSchema), metadata={"description": "newest first"})
    keys = ma.fields.List(ma.fields.Nested(KeyUsageSchema))
