"""Admin and operator changes to a user: tier, active, admin — each audited.

The admin API (PATCH /api/admin/users/<id>) and the ``flask users`` CLI come
here. Every change writes an ``audit_log`` row in the same transaction and
commits through ``users.commit`` (so the user's cache entry is dropped and the
change is seen on their very next request).
"""

from __future__ import annotations

from dataclasses import dataclass

from app.accounts import login_throttle, users
from app.accounts.models import User
from app.accounts.rules import SelfLockout, UserNotFound, check_email, check_password, check_tier
from app.accounts.security_models import AuditLog
from app.extensions import db

# Fields an admin may change, and what the audit log records.
ADMIN_FIELDS = ("tier", "is_active", "is_admin")


def _snapshot(user: User) -> dict:
    return {f: getattr(user, f) for f in ADMIN_FIELDS}


@dataclass
class Actor:
    """Who made a change, for the audit log (actor_id None = operator CLI)."""

    id: int | None = None
    ip: str | None = None
    via: str = "api"


def admin_update(target_id: int, changes: dict, actor: Actor) -> User:
    """Apply ``{tier?, is_active?, is_admin?}``; audit what changed.

    An admin may not deactivate or demote themself (403 forbidden): that would
    risk locking every admin out.
    """
    user = users.get(target_id)
    if user is None:
        raise UserNotFound("No such user.")
    changes = {k: v for k, v in changes.items() if k in ADMIN_FIELDS and v is not None}
    if "tier" in changes:
        check_tier(changes["tier"])
    if (
        actor.id is not None
        and actor.id == user.id
        and (changes.get("is_active") is False or changes.get("is_admin") is False)
    ):
        raise SelfLockout("Admins cannot deactivate or demote themselves.")
    return _apply(user, changes, actor, action="user.update")


def _apply(user: User, changes: dict, actor: Actor, action: str) -> User:
    before = _snapshot(user)
    for field, value in changes.items():
        setattr(user, field, value)
    after = _snapshot(user)
    changed = [f for f in ADMIN_FIELDS if before[f] != after[f]]
    if changed:
        db.session.add(
            AuditLog(
                actor_id=actor.id,
                action=action,
                target_id=user.id,
                before={f: before[f] for f in changed},
                after={f: after[f] for f in changed},
                ip=actor.ip,
            )
        )
    users.commit(user.id)
    return user


def set_tier(email: str, tier: str, actor: Actor | None = None) -> User:
    check_tier(tier)
    return _apply(
        users.require_by_email(email), {"tier": tier}, actor or Actor(via="cli"), action="user.set_tier"
    )


def deactivate(email: str, actor: Actor | None = None) -> User:
    return _apply(
        users.require_by_email(email),
        {"is_active": False},
        actor or Actor(via="cli"),
        action="user.deactivate",
    )


def ensure_admin(
    email: str, password: str, full_name: str = "", actor: Actor | None = None
) -> tuple[User, bool]:
    """CLI create-admin: create an active admin, or promote + reactivate an existing
    user and set their password to ``password``. Returns (user, created)."""
    email = check_email(email)
    user = users.by_email(email)
    check_password(
        password, email=email, full_name=user.full_name if user else (full_name or "Administrator")
    )
    if user is None:
        user = users.create_user(email, password, full_name or "Administrator", is_admin=True)
        db.session.add(
            AuditLog(
                actor_id=None,
                action="user.create_admin",
                target_id=user.id,
                before=None,
                after={"is_admin": True},
                ip=None,
            )
        )
        users.commit(user.id)
        return user, True
    users.set_password(user, password)  # bumps token_version: the old password's sessions die
    _apply(user, {"is_admin": True, "is_active": True}, actor or Actor(via="cli"), action="user.create_admin")
    return user, False


def unlock(email: str) -> int:
    """Operator: lift every login lockout of an existing user's email (see login_throttle.unlock)."""
    user = users.require_by_email(email)
    return login_throttle.unlock(user.email, user.id)
