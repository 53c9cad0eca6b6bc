"""Every write to a user goes through here (API, admin API, CLI).

What a valid email, password and tier is, and the errors raised when a rule
is broken, live in app/accounts/rules.py.

Each writer commits and then, in the same code path, invalidates the user's
cache entry (``user_cache.invalidate``: a new generation token, then a
delete, so no reader that read the row before the commit can store it after),
and the change is seen on that user's very next request. The audited admin
and operator changes (tier, active, admin) are in app/accounts/admin_changes.py
and commit through :func:`commit` too.
"""

from __future__ import annotations

from sqlalchemy import func, or_, select, update
from sqlalchemy.exc import IntegrityError

from app.accounts import login_throttle, user_cache
from app.accounts.models import User
from app.accounts.passwords import passwords
from app.accounts.rules import (
    EmailTaken,
    Throttled,
    UserNotFound,
    check_email,
    check_password,
    check_tier,
    normalise_email,
)
from app.accounts.tiers import DEFAULT_TIER
from app.core.sqlbase import utcnow
from app.extensions import db


def get(user_id: int) -> User | None:
    return db.session.get(User, int(user_id))


def by_email(email: str) -> User | None:
    return db.session.execute(select(User).where(User.email == normalise_email(email))).scalar_one_or_none()


def commit(user_id: int | None = None) -> None:
    """Commit, turning a unique-email race into EmailTaken; then drop the cache entry."""
    try:
        db.session.commit()
    except IntegrityError:
        db.session.rollback()
        raise EmailTaken("This email address is already registered.") from None
    if user_id is not None:
        user_cache.invalidate(user_id)


# -- creating and authenticating ---------------------------------------------
def create_user(
    email: str,
    password: str,
    full_name: str = "",
    *,
    tier: str = DEFAULT_TIER,
    is_admin: bool = False,
    is_active: bool = True,
) -> User:
    email = check_email(email)
    check_password(password, email=email, full_name=full_name)
    check_tier(tier)
    if by_email(email) is not None:
        raise EmailTaken("This email address is already registered.")
    user = User(
        email=email,
        password_hash=passwords().hash(password),
        full_name=(full_name or "").strip(),
        tier=tier,
        is_admin=is_admin,
        is_active=is_active,
    )
    db.session.add(user)
    commit()
    user_cache.invalidate(user.id)  # ids are reused after a TRUNCATE ... RESTART IDENTITY
    return user


def authenticate(email: str, password: str) -> User | None:
    """The user if the password matches; None otherwise, in about the same time either way."""
    user = by_email(email)
    hasher = passwords()
    matches = hasher.verify(user.password_hash if user else None, password)
    if user is None or not matches:
        return None
    if hasher.needs_rehash(user.password_hash):  # parameters were raised since
        user.password_hash = hasher.hash(password)
        commit(user.id)
    return user


# -- the user's own changes ---------------------------------------------------
def update_profile(user_id: int, *, full_name: str | None = None, email: str | None = None) -> User:
    user = get(user_id)
    if user is None:
        raise UserNotFound("No such user.")
    if full_name is not None:
        user.full_name = full_name.strip()
    if email is not None:
        email = check_email(email)
        if email != user.email:
            other = by_email(email)
            if other is not None:
                raise EmailTaken("This email address is already registered.")
            user.email = email
            user.is_verified = False  # a new address has not been verified
    commit(user.id)
    return user


def change_password(user_id: int, current_password: str, new_password: str, ip: str | None = None) -> bool:
    """False if ``current_password`` is wrong. Bumps token_version: older tokens die.

    A wrong ``current_password`` counts like a failed login, per (user, IP): the
    check is counted before it is made and refused (``Throttled``) past the limit,
    even when the password given is right. A weak new password is refused first
    (no password is checked, nothing is counted).
    """
    user = get(user_id)
    if user is None:
        raise UserNotFound("No such user.")
    check_password(new_password, email=user.email, full_name=user.full_name, field="new_password")
    decision = login_throttle.begin_password_check(user.id, ip)
    if not decision.allowed:
        login_throttle.password_check_refused(user.email, ip)
        raise Throttled(
            "Too many wrong current passwords; try again later.", decision.retry_after, decision.scope
        )
    if not passwords().verify(user.password_hash, current_password):
        login_throttle.password_check_failed(user.email, ip)
        return False
    set_password(user, new_password, field="new_password")
    commit(user.id)
    login_throttle.password_check_succeeded(user.id, ip)
    return True


def set_password(user: User, password: str, field: str = "password") -> None:
    check_password(password, email=user.email, full_name=user.full_name, field=field)
    user.password_hash = passwords().hash(password)
    user.token_version = (user.token_version or 1) + 1


# -- account mail (app/accounts/email_flows.py) --------------------------------
def mark_verified(user: User) -> None:
    """Email confirmed by its link; commits with the caller's use of the token."""
    user.is_verified = True
    commit(user.id)


def set_new_password(user: User, password: str) -> None:
    """Password reset by its link: bumps token_version (every older token is refused);
    commits with the caller's use of the token."""
    set_password(user, password, field="new_password")
    commit(user.id)


def record_login(user_id: int) -> None:
    """Stamp ``last_login_at``: one UPDATE of that column alone (``updated_at`` is kept, and
    no cached field changes, so the user's cache entry stays valid)."""
    db.session.execute(
        update(User).where(User.id == user_id).values(last_login_at=utcnow(), updated_at=User.updated_at)
    )
    db.session.commit()


def require_by_email(email: str) -> User:
    user = by_email(email)
    if user is None:
        raise UserNotFound(f"No user with email {normalise_email(email)!r}.")
    return user


# -- reading -----------------------------------------------------------------
def _like_escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def list_users(
    page: int = 1, per_page: int = 20, tier: str | None = None, q: str | None = None
) -> tuple[list[User], int]:
    """A page of users by id, with the total matching; ``q`` matches email or full name."""
    conditions = []
    if tier:
        conditions.append(User.tier == tier)
    if q:
        pattern = f"%{_like_escape(q.lower())}%"
        conditions.append(
            or_(
                func.lower(User.email).like(pattern, escape="\\"),
                func.lower(User.full_name).like(pattern, escape="\\"),
            )
        )
    total = db.session.execute(select(func.count(User.id)).where(*conditions)).scalar_one()
    if (page - 1) * per_page >= total:
        # Past the end: no items. Also keeps an absurd page (2**70) from reaching
        # PostgreSQL, whose OFFSET is a bigint (it would raise, a 500).
        return [], int(total)
    items = (
        db.session.execute(
            select(User).where(*conditions).order_by(User.id).limit(per_page).offset((page - 1) * per_page)
        )
        .scalars()
        .all()
    )
    return list(items), int(total)
