"""Login and current-password throttling, and the failed-login record.

Counters (fixed windows of ``LOGIN_FAILURE_WINDOW_SECONDS``, 15 min, starting
at the first failure; app/accounts/throttle.py makes each check one atomic step,
in Redis or in process memory when Redis is unreachable):

* per (email, IP) ``alpine:lf:ei:<ip>:<email>``: ``LOGIN_MAX_FAILURES_PER_EMAIL_IP`` (5).
  This is the lock a user meets: it locks the attacker's IP, not the victim.
* per IP ``alpine:lf:ip:<ip>``: ``LOGIN_MAX_FAILURES_PER_IP`` (30), against one
  IP spraying many emails.
* per email ``alpine:lf:e:<email>``: ``LOGIN_MAX_FAILURES_PER_EMAIL`` (50), a
  ceiling across all IPs against a distributed guess of one account.

Every attempt is counted *before* the password is checked (so 25 concurrent
wrong attempts check at most 5 passwords); an attempt that succeeds is then
given back (and clears its (email, IP) counter). A refused attempt is not
counted: from a locked IP an attacker cannot push the victim's per-email
counter up. Refused attempts get 429 ``rate_limited`` with ``Retry-After`` =
seconds left in the blocking window, even with the right password. Unknown
emails are counted like known ones (no enumeration).

``POST /api/users/me/password`` applies the (email, IP) rule to a wrong
``current_password``, keyed on (user id, IP): ``alpine:pw:<user id>:<ip>``.

Every refused login is written to ``failed_logins`` (email, ip, reason, at);
reaching the (email, IP) threshold writes a ``login_locks`` row with that ip,
reaching the per-email ceiling one with ip NULL (every IP). ``unlock(email)``
lifts all of them; ``prune_failed_logins`` drops rows older than 90 days.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from flask import current_app
from sqlalchemy import delete, func, select, update

from app.accounts import throttle
from app.accounts.security_models import FailedLogin, LoginLock
from app.accounts.throttle import Decision, Limit
from app.core.database import rows_affected
from app.extensions import db

RETENTION_DAYS = 90


def _window() -> int:
    return int(current_app.config["LOGIN_FAILURE_WINDOW_SECONDS"])


def _ip(ip: str | None) -> str:
    return ip or "unknown"


def _pair_key(email: str, ip: str | None) -> str:
    return f"alpine:lf:ei:{_ip(ip)}:{email}"


def _email_key(email: str) -> str:
    return f"alpine:lf:e:{email}"


def _ip_key(ip: str | None) -> str:
    return f"alpine:lf:ip:{_ip(ip)}"


def _password_key(user_id: int, ip: str | None) -> str:
    return f"alpine:pw:{int(user_id)}:{_ip(ip)}"


def _login_limits(email: str, ip: str | None) -> list[Limit]:
    c, window = current_app.config, _window()
    # Most specific first: the scope reported is the first limit that refuses.
    return [
        Limit(_pair_key(email, ip), int(c["LOGIN_MAX_FAILURES_PER_EMAIL_IP"]), window, "email_ip"),
        Limit(_ip_key(ip), int(c["LOGIN_MAX_FAILURES_PER_IP"]), window, "ip"),
        Limit(_email_key(email), int(c["LOGIN_MAX_FAILURES_PER_EMAIL"]), window, "email"),
    ]


# -- login ----------------------------------------------------------------------
def begin_login(email: str, ip: str | None) -> Decision:
    """Count this attempt as a failure up front, or refuse it (nothing counted)."""
    return throttle.hit(_login_limits(email, ip))


def login_refused(email: str, ip: str | None) -> None:
    """A throttled attempt: logged for the dashboard, not counted."""
    db.session.add(FailedLogin(email=email, ip=ip, reason="rate_limited"))
    db.session.commit()


def login_failed(email: str, ip: str | None, decision: Decision, reason: str = "invalid_credentials") -> None:
    """The attempt stays counted; log it, and record a lock when it reached a threshold."""
    c = current_app.config
    pair_count, _, email_count = decision.counts
    pair_ttl, _, email_ttl = decision.ttls
    now = datetime.now(UTC)
    db.session.add(FailedLogin(email=email, ip=ip, reason=reason, at=now))
    if pair_count == int(c["LOGIN_MAX_FAILURES_PER_EMAIL_IP"]):
        db.session.add(
            LoginLock(email=email, ip=ip, at=now, locked_until=now + timedelta(seconds=pair_ttl or _window()))
        )
    if email_count == int(c["LOGIN_MAX_FAILURES_PER_EMAIL"]):
        db.session.add(
            LoginLock(
                email=email, ip=None, at=now, locked_until=now + timedelta(seconds=email_ttl or _window())
            )
        )
    db.session.commit()


def login_succeeded(email: str, ip: str | None, decision: Decision) -> None:
    """Forget this (email, IP)'s failures; give this attempt back to the IP and email counters."""
    if decision.counts and decision.counts[0] == 1:
        # No earlier failures of this pair: giving the one count back is the same as
        # forgetting it, in one round trip (the common case).
        throttle.release([_pair_key(email, ip), _ip_key(ip), _email_key(email)])
        return
    throttle.reset([_pair_key(email, ip)])
    throttle.release([_ip_key(ip), _email_key(email)])


# -- current password (POST /api/users/me/password) --------------------------------
def begin_password_check(user_id: int, ip: str | None) -> Decision:
    limit = Limit(
        _password_key(user_id, ip),
        int(current_app.config["LOGIN_MAX_FAILURES_PER_EMAIL_IP"]),
        _window(),
        "user_ip",
    )
    return throttle.hit([limit])


def password_check_failed(email: str, ip: str | None) -> None:
    db.session.add(FailedLogin(email=email, ip=ip, reason="invalid_current_password"))
    db.session.commit()


def password_check_refused(email: str, ip: str | None) -> None:
    db.session.add(FailedLogin(email=email, ip=ip, reason="rate_limited"))
    db.session.commit()


def password_check_succeeded(user_id: int, ip: str | None) -> None:
    throttle.reset([_password_key(user_id, ip)])


# -- operators --------------------------------------------------------------------
def unlock(email: str, user_id: int | None = None) -> int:
    """Lift every lockout of ``email``: its counters for every IP that failed within the
    window (from ``failed_logins``), the user's current-password counters, and the
    ``login_locks`` rows still in force. Returns how many lock rows were lifted."""
    now = datetime.now(UTC)
    ips = set(
        db.session.execute(
            select(FailedLogin.ip)
            .where(FailedLogin.email == email, FailedLogin.at >= now - timedelta(seconds=_window()))
            .distinct()
        ).scalars()
    )
    ips |= set(
        db.session.execute(
            select(LoginLock.ip).where(LoginLock.email == email, LoginLock.locked_until > now).distinct()
        ).scalars()
    )
    keys = [_email_key(email)] + [_pair_key(email, ip) for ip in ips]
    if user_id is not None:
        keys += [_password_key(user_id, ip) for ip in ips]
    throttle.reset(keys)
    lifted = rows_affected(
        db.session.execute(
            update(LoginLock)
            .where(LoginLock.email == email, LoginLock.locked_until > now)
            .values(locked_until=now)
        )
    )
    db.session.commit()
    return int(lifted or 0)


def prune_failed_logins(days: int = RETENTION_DAYS, now: datetime | None = None) -> int:
    """Delete failed-login rows (and lock rows that ended) older than ``days``; returns rows deleted."""
    cutoff = (now or datetime.now(UTC)) - timedelta(days=days)
    failed = rows_affected(db.session.execute(delete(FailedLogin).where(FailedLogin.at < cutoff)))
    locks = rows_affected(db.session.execute(delete(LoginLock).where(LoginLock.locked_until < cutoff)))
    db.session.commit()
    return int(failed or 0) + int(locks or 0)


# -- for the security dashboard ------------------------------------------------
def locked_accounts(now: datetime | None = None) -> list[dict]:
    """[{email, ip, locked_until}] for every (email, IP) locked right now; ip None = every IP."""
    now = now or datetime.now(UTC)
    until = func.max(LoginLock.locked_until)
    rows = db.session.execute(
        select(LoginLock.email, LoginLock.ip, until)
        .where(LoginLock.locked_until > now)
        .group_by(LoginLock.email, LoginLock.ip)
        .order_by(until.desc(), LoginLock.email)
    ).all()
    return [{"email": email, "ip": ip, "locked_until": u.isoformat()} for email, ip, u in rows]


def failed_login_stats(since: datetime, recent: int = 20, top: int = 10) -> dict:
    """{count, recent: [{email, ip, at}], top_ips: [{ip, count}]} of failures since ``since``."""
    count = db.session.execute(select(func.count(FailedLogin.id)).where(FailedLogin.at >= since)).scalar_one()
    recent_rows = db.session.execute(
        select(FailedLogin.email, FailedLogin.ip, FailedLogin.at)
        .where(FailedLogin.at >= since)
        .order_by(FailedLogin.at.desc())
        .limit(recent)
    ).all()
    top_rows = db.session.execute(
        select(FailedLogin.ip, func.count(FailedLogin.id).label("n"))
        .where(FailedLogin.at >= since)
        .group_by(FailedLogin.ip)
        .order_by(func.count(FailedLogin.id).desc())
        .limit(top)
    ).all()
    return {
        "count": int(count),
        "recent": [{"email": e, "ip": ip, "at": at.isoformat()} for e, ip, at in recent_rows],
        "top_ips": [{"ip": ip, "count": int(n)} for ip, n in top_rows],
    }
