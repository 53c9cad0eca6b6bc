"""Schemas of the admin analytics, request-series and security endpoints."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import marshmallow as ma
from flask import current_app
from marshmallow import ValidationError, validate, validates_schema

MIN_YEAR, MAX_YEAR = 1970, 9000


class UTCMoment(ma.fields.Field):
    """An ISO 8601 date (``2026-11-25``) or datetime; a datetime without offset is UTC."""

    def _deserialize(self, value, attr, data, **kwargs):
        message = "Not a valid ISO 8601 date or datetime."
        if not isinstance(value, str) or not value.strip():
            raise ValidationError(message)
        text = value.strip()
        try:
            if len(text) == 10:
                value = date.fromisoformat(text)
            else:
                moment = datetime.fromisoformat(text)
                value = moment.astimezone(UTC) if moment.tzinfo else moment.replace(tzinfo=UTC)
        except (ValueError, OverflowError):
            raise ValidationError(message) from None
        if not MIN_YEAR <= value.year <= MAX_YEAR:  # keeps range arithmetic from overflowing
            raise ValidationError(f"Must be between the years {MIN_YEAR} and {MAX_YEAR}.")
        return value


def _as_start(value) -> datetime:
    if isinstance(value, datetime):
        return value
    return datetime(value.year, value.month, value.day, tzinfo=UTC)


def _as_end(value) -> datetime:
    # A date ``to`` includes that whole day.
    return value if isinstance(value, datetime) else _as_start(value) + timedelta(days=1)


class RequestSeriesQuerySchema(ma.Schema):
    from_ = UTCMoment(
        data_key="from",
        metadata={
            "description": "ISO 8601 date or datetime (UTC if no offset); default: 24 h (hour) or "
            "30 days (day) before `to`"
        },
    )
    to = UTCMoment(
        metadata={"description": "ISO 8601 date (whole day included) or datetime (exclusive); default: now"}
    )
    granularity = ma.fields.String(load_default="hour", validate=validate.OneOf(["hour", "day"]))
    endpoint = ma.fields.String(
        validate=validate.Length(min=1, max=255), metadata={"description": "a url rule, e.g. /api/users/me"}
    )

    @validates_schema
    def _resolve_range(self, data, **kwargs):
        granularity = data.get("granularity", "hour")
        try:
            end = _as_end(data["to"]) if "to" in data else datetime.now(UTC)
            if "from_" in data:
                start = _as_start(data["from_"])
            else:
                start = end - (timedelta(days=30) if granularity == "day" else timedelta(hours=24))
            # The series walks buckets up to `end` + one bucket: keep clear of year 9999.
            end + timedelta(days=2)
            start - timedelta(days=2)
        except OverflowError:  # to=9999-12-31 has no "next day"; 0001-01-01 no "day before"
            raise ValidationError({"to": ["Out of the supported date range."]}) from None
        if start >= end:
            raise ValidationError({"from": ["`from` must be before `to`."]})
        max_days = current_app.config["METRICS_QUERY_MAX_DAYS"][granularity]
        if end - start > timedelta(days=max_days):
            raise ValidationError(
                {"to": [f"The range may span at most {max_days} days with granularity={granularity}."]}
            )
        data["start"], data["end"] = start, end


class RequestPointSchema(ma.Schema):
    bucket = ma.fields.String(required=True, metadata={"description": "bucket start, UTC"})
    requests = ma.fields.Integer(required=True)
    errors = ma.fields.Integer(required=True, metadata={"description": "answered 5xx"})
    client_errors = ma.fields.Integer(metadata={"description": "answered 4xx"})
    avg_latency_ms = ma.fields.Float(allow_none=True, metadata={"description": "null: no requests"})


class RequestSeriesSchema(ma.Schema):
    granularity = ma.fields.String(required=True)
    from_ = ma.fields.String(data_key="from")
    to = ma.fields.String()
    endpoint = ma.fields.String(allow_none=True)
    points = ma.fields.List(ma.fields.Nested(RequestPointSchema), required=True)


class UsersByTierSchema(ma.Schema):
    starter = ma.fields.Integer(required=True)
    pro = ma.fields.Integer(required=True)
    elite = ma.fields.Integer(required=True)


class AnalyticsSchema(ma.Schema):
    total_users = ma.fields.Integer(required=True)
    active_users = ma.fields.Integer(required=True)
    new_users_today = ma.fields.Integer(required=True)
    new_users_this_week = ma.fields.Integer(required=True)
    new_users_this_month = ma.fields.Integer(required=True)
    users_by_tier = ma.fields.Nested(UsersByTierSchema, required=True)
    signals_published_today = ma.fields.Integer(required=True)
    signals_published_this_week = ma.fields.Integer(required=True)
    signals_published_this_month = ma.fields.Integer(required=True)
    signals_delivered_today = ma.fields.Integer(required=True)
    signals_delivered_this_week = ma.fields.Integer(required=True)
    signals_delivered_this_month = ma.fields.Integer(required=True)
    api_requests_today = ma.fields.Integer(required=True)
    api_requests_this_week = ma.fields.Integer(required=True)
    error_rate = ma.fields.Float(
        required=True, metadata={"description": "percent of today's (UTC) requests answered 5xx"}
    )
    generated_at = ma.fields.String(required=True)


class FailedLoginSchema(ma.Schema):
    email = ma.fields.String()
    ip = ma.fields.String(allow_none=True)
    at = ma.fields.String()


class LockedAccountSchema(ma.Schema):
    email = ma.fields.String()
    # The locked (email, IP) pair's IP; null = locked from every IP (the per-email ceiling).
    ip = ma.fields.String(allow_none=True)
    locked_until = ma.fields.String()


class FailureIPSchema(ma.Schema):
    ip = ma.fields.String(allow_none=True)
    count = ma.fields.Integer()


class AuditEntrySchema(ma.Schema):
    actor_id = ma.fields.Integer(allow_none=True)
    action = ma.fields.String()
    target_id = ma.fields.Integer(allow_none=True)
    before = ma.fields.Dict(allow_none=True)
    after = ma.fields.Dict(allow_none=True)
    ip = ma.fields.String(allow_none=True)
    at = ma.fields.String()


class SecuritySchema(ma.Schema):
    failed_logins_24h = ma.fields.Integer(required=True)
    recent_failed_logins = ma.fields.List(ma.fields.Nested(FailedLoginSchema), required=True)
    locked_accounts = ma.fields.List(ma.fields.Nested(LockedAccountSchema), required=True)
    top_failure_ips = ma.fields.List(ma.fields.Nested(FailureIPSchema), required=True)
    audit_log = ma.fields.List(ma.fields.Nested(AuditEntrySchema), required=True)
