"""Argo's own schemas: the latest-signals query and /ready's status."""

from __future__ import annotations

import marshmallow as ma
from marshmallow import validate

from httpkit.schemas import SignalQuerySchema

MAX_LIMIT = 500


class LatestQuerySchema(SignalQuerySchema):
    """Query of Argo's GET /api/signals/latest."""

    BLANK_MEANS_ABSENT = ("symbol", "min_confidence")

    limit = ma.fields.Integer(load_default=10, validate=validate.Range(min=1, max=MAX_LIMIT))
    min_confidence = ma.fields.Float(
        load_default=None, allow_nan=False, validate=validate.Range(min=0, max=100)
    )


class StatusSchema(ma.Schema):
    status = ma.fields.String(required=True)
    database = ma.fields.String()
