"""Request and response schemas of /api/webhooks."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import marshmallow as ma
from marshmallow import validate

from app.webhooks.endpoints import SUBSCRIBABLE_EVENTS
from app.webhooks.ssrf import MAX_URL_LENGTH

MAX_SYMBOLS = 100


class UpperString(ma.fields.String):
    """A symbol: stripped and upper-cased, as Argo writes them."""

    def _deserialize(
        self, value: Any, attr: str | None, data: Mapping[str, Any] | None, **kwargs: Any
    ) -> str:
        return super()._deserialize(value, attr, data, **kwargs).strip().upper()


def _unique(values: Iterable[str] | None) -> list[str] | None:
    return None if values is None else list(dict.fromkeys(values))


class _EndpointFields(ma.Schema):
    url = ma.fields.String(validate=validate.Length(min=1, max=MAX_URL_LENGTH))
    events = ma.fields.List(
        ma.fields.String(validate=validate.OneOf(SUBSCRIBABLE_EVENTS)),
        validate=validate.Length(min=1, max=len(SUBSCRIBABLE_EVENTS) * 4),
    )
    symbols = ma.fields.List(
        UpperString(validate=[validate.Length(min=1, max=16), validate.Regexp(r"^[A-Z0-9._/:-]+$")]),
        allow_none=True,
        validate=validate.Length(min=1, max=MAX_SYMBOLS),
        metadata={"description": "Only these symbols; null or absent = every symbol."},
    )
    min_confidence = ma.fields.Float(
        allow_none=True, allow_nan=False, validate=validate.Range(min=0, max=100)
    )

    @ma.post_load
    def _dedupe(self, data: dict[str, Any], **_kwargs: Any) -> dict[str, Any]:
        for name in ("events", "symbols"):
            if name in data:
                data[name] = _unique(data[name])
        return data


class WebhookCreateSchema(_EndpointFields):
    url = ma.fields.String(required=True, validate=validate.Length(min=1, max=MAX_URL_LENGTH))
    events = ma.fields.List(
        ma.fields.String(validate=validate.OneOf(SUBSCRIBABLE_EVENTS)),
        required=True,
        validate=validate.Length(min=1, max=len(SUBSCRIBABLE_EVENTS) * 4),
    )


class WebhookUpdateSchema(_EndpointFields):
    is_active = ma.fields.Boolean(metadata={"description": "true re-enables a disabled endpoint."})


class WebhookSchema(ma.Schema):
    id = ma.fields.Integer()
    url = ma.fields.String()
    events = ma.fields.List(ma.fields.String())
    symbols = ma.fields.List(ma.fields.String(), allow_none=True)
    min_confidence = ma.fields.Float(allow_none=True)
    is_active = ma.fields.Boolean()
    disabled_reason = ma.fields.String(
        allow_none=True,
        metadata={"description": "failing (disabled after failed attempts) or disabled_by_owner"},
    )
    created_at = ma.fields.String()


class WebhookWithSecretSchema(WebhookSchema):
    secret = ma.fields.String(metadata={"description": "whsec_...; shown only here (create, rotate-secret)."})


class WebhookListSchema(ma.Schema):
    items = ma.fields.List(ma.fields.Nested(WebhookSchema))


class TestEventSchema(ma.Schema):
    message_id = ma.fields.String(metadata={"description": "The webhook-id header of the test message."})


class DeliverySchema(ma.Schema):
    id = ma.fields.Integer()
    message_id = ma.fields.String()
    event = ma.fields.String()
    attempt = ma.fields.Integer()
    status_code = ma.fields.Integer(allow_none=True)
    error = ma.fields.String(allow_none=True)
    duration_ms = ma.fields.Integer()
    at = ma.fields.String()


class DeliveryListSchema(ma.Schema):
    items = ma.fields.List(ma.fields.Nested(DeliverySchema))
