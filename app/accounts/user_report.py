"""What ``flask users show EMAIL`` prints: one user's account state, for operators.

Read-only. Never prints the password hash or any token or key material: API
keys are counted, not listed.
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import case, func, select

from app.accounts import login_throttle
from app.accounts.models import User
from app.extensions import db


def api_key_counts(user_id: int) -> tuple[int, int] | None:
    """(active, revoked) API keys of the user, or None where this build has no API keys."""
    try:
        from app.keys.models import ApiKey
    except ImportError:  # a build without app/keys: the report says "n/a"
        return None
    active = func.coalesce(func.sum(case((ApiKey.revoked_at.is_(None), 1), else_=0)), 0)
    total, live = db.session.execute(
        select(func.count(ApiKey.id), active).where(ApiKey.user_id == user_id)
    ).one()
    return int(live), int(total) - int(live)


def locks(email: str, now: datetime | None = None) -> list[dict]:
    """The lockouts in force for this email (each: ip None = every IP, locked_until)."""
    return [
        lock for lock in login_throttle.locked_accounts(now or datetime.now(UTC)) if lock["email"] == email
    ]


def report(user: User) -> list[tuple[str, str]]:
    """(label, value) lines for one user."""
    lines = [
        ("id", str(user.id)),
        ("email", user.email),
        ("name", user.full_name or "-"),
        ("tier", user.tier),
        ("active", "yes" if user.is_active else "no"),
        ("admin", "yes" if user.is_admin else "no"),
        ("verified", "yes" if user.is_verified else "no"),
        ("created", user.created_at.isoformat() if user.created_at else "-"),
        (
            "last login",
            user.last_login_at.isoformat() if user.last_login_at else "never (or before this was recorded)",
        ),
    ]
    held = locks(user.email)
    if held:
        lines.append(
            (
                "locked",
                "yes: "
                + "; ".join(f"{lock['ip'] or 'every IP'} until {lock['locked_until']}" for lock in held)
                + "  (flask users unlock EMAIL lifts them)",
            )
        )
    else:
        lines.append(("locked", "no"))
    keys = api_key_counts(user.id)
    lines.append(("API keys", "n/a" if keys is None else f"{keys[0]} active, {keys[1]} revoked"))
    return lines
