"""Accounts security tables: revocations, failed logins, lockouts, audit log.

GET /api/admin/security (app/admin/security.py) reads ``failed_logins``,
``login_locks`` and ``audit_log``; app/accounts/login_throttle.py and
app/accounts/users.py write them.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from app.core.sqlbase import UTCDateTime, utcnow
from app.extensions import Model


class RevokedToken(Model):
    """One logged-out login session (``sid`` claim shared by its access and refresh tokens).

    SQL is the source of truth; Redis only caches it (app/accounts/tokens.py).
    A row is useless once ``expires_at`` (the latest expiry of any token of the
    session) has passed; a beat task prunes those.
    """

    __tablename__ = "revoked_tokens"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    sid: Mapped[str] = mapped_column(String(64), unique=True)
    jti: Mapped[str | None] = mapped_column(String(64))  # the token presented at logout
    user_id: Mapped[int | None] = mapped_column(Integer, index=True)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    revoked_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class FailedLogin(Model):
    """Every refused login attempt (unknown email, wrong password, inactive, throttled)."""

    __tablename__ = "failed_logins"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    email: Mapped[str] = mapped_column(String(254), index=True)
    ip: Mapped[str | None] = mapped_column(String(64), index=True)
    # invalid_credentials | inactive_user | rate_limited
    reason: Mapped[str] = mapped_column(String(32), default="invalid_credentials")
    at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, index=True)


class LoginLock(Model):
    """Written when an email reaches the failure threshold: it is locked until ``locked_until``."""

    __tablename__ = "login_locks"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    email: Mapped[str] = mapped_column(String(254), index=True)
    ip: Mapped[str | None] = mapped_column(String(64))
    locked_until: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class AuditLog(Model):
    """Every change an admin (API) or operator (CLI, actor_id NULL) makes to a user."""

    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    actor_id: Mapped[int | None] = mapped_column(Integer, index=True)
    action: Mapped[str] = mapped_column(String(64))
    target_id: Mapped[int | None] = mapped_column(Integer, index=True)
    before: Mapped[dict | None] = mapped_column(JSON)
    after: Mapped[dict | None] = mapped_column(JSON)
    ip: Mapped[str | None] = mapped_column(String(64))
    at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, index=True)
