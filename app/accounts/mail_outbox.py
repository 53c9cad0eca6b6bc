"""The account-mail outbox: queued in the request, sent by a Celery worker.

Request side (``queue``): one ``account_mails`` row committed, then the
``mail.deliver`` task published with the row's id. Redis being down costs the
request nothing: the row stays unqueued and the ``mail.sweep`` beat task
publishes it once Redis is back.

Worker side (``deliver``): claim the row (an atomic UPDATE with a lease, so a
sweep-requeued or redelivered task never sends it twice at once), mint the
token, store its hash, send, mark it sent. An SMTP failure forgets the token
(it was never seen) and raises ``MailNotSent``; the task retries with backoff.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from smtplib import SMTPException

from flask import current_app
from sqlalchemy import and_, delete, or_, select, update

from app.accounts import email_tokens
from app.accounts import users as user_service
from app.accounts.mail_models import RESET, VERIFY, AccountMail
from app.accounts.models import User
from app.core import redis_guard
from app.core.database import rows_affected
from app.core.sqlbase import utcnow
from app.extensions import db
from app.mail import service as mail_service

log = logging.getLogger(__name__)

DELIVER_TASK = "mail.deliver"
CLAIM_SECONDS = 300  # longer than one SMTP attempt can take (MAIL_TIMEOUT per operation)
SWEEP_GRACE = timedelta(minutes=2)  # a queued task has this long to be picked up before a re-queue
PUBLISH_GRACE = timedelta(seconds=30)
SWEEP_MAX_AGE = timedelta(days=1)  # older unsent rows are left alone (the user can ask again)
RETENTION_DAYS = 30  # then the row (what was sent, when, the last SMTP error) is pruned


class MailNotSent(Exception):
    """SMTP refused or could not be reached; the task retries."""


# -- request side ---------------------------------------------------------------
def queue(purpose: str, email: str, user_id: int | None = None) -> int:
    row = AccountMail(purpose=purpose, email=email, user_id=user_id)
    db.session.add(row)
    db.session.commit()
    publish(row.id)
    return row.id


def publish(mail_id: int) -> bool:
    """Queue the delivery task; False (logged, swept later) when the broker is unreachable."""
    if not redis_guard.guard().breaker.available():
        return False  # Redis is known to be down: don't spend a timeout on it
    try:
        current_app.extensions["celery"].send_task(DELIVER_TASK, args=[int(mail_id)], retry=False)
    except Exception as exc:  # noqa: BLE001 - any broker failure: the sweep re-queues the row
        log.warning("mail %s not queued (%s); the sweep will queue it", mail_id, exc.__class__.__name__)
        redis_guard.failed(exc)  # the broker is this Redis: the next requests skip it for a while
        return False
    _mark_enqueued(mail_id, utcnow())
    return True


def _mark_enqueued(mail_id: int, when: datetime) -> None:
    db.session.execute(
        update(AccountMail)
        .where(AccountMail.id == mail_id)
        .values(enqueued_at=when)
        .execution_options(synchronize_session=False)
    )
    db.session.commit()


# -- worker side ----------------------------------------------------------------
def retry_delay(retries: int) -> float:
    base = float(current_app.config.get("MAIL_RETRY_BASE_SECONDS", 5.0))
    return min(600.0, base * (2 ** min(retries, 20)))


def retry_scheduled(mail_id: int, countdown: float) -> None:
    """The task will run again in ``countdown`` s: keep the sweep from queueing a second copy."""
    _mark_enqueued(mail_id, utcnow() + timedelta(seconds=countdown))


def _claim(mail_id: int) -> AccountMail | None:
    now = utcnow()
    result = db.session.execute(
        update(AccountMail)
        .where(
            AccountMail.id == mail_id,
            AccountMail.sent_at.is_(None),
            or_(AccountMail.claimed_until.is_(None), AccountMail.claimed_until < now),
        )
        .values(claimed_until=now + timedelta(seconds=CLAIM_SECONDS), attempts=AccountMail.attempts + 1)
        .execution_options(synchronize_session=False)
    )
    db.session.commit()
    if rows_affected(result) != 1:
        return None
    return db.session.get(AccountMail, mail_id)


def _settle(row: AccountMail, outcome: str) -> str:
    row.sent_at, row.outcome, row.claimed_until = utcnow(), outcome, None
    db.session.commit()
    return outcome


def _recipient(row: AccountMail) -> User | None:
    """The account this message is for, or None when no message should go out."""
    if row.purpose == VERIFY:
        user = user_service.get(row.user_id) if row.user_id else None
        # Verified meanwhile, or the address changed: that link would be wrong.
        if user is None or user.is_verified or user.email != row.email:
            return None
        return user
    user = user_service.by_email(row.email)
    return user if user is not None and user.is_active else None


def deliver(mail_id: int) -> str:
    """Send one queued message. Returns the outcome; raises MailNotSent to be retried."""
    row = _claim(mail_id)
    if row is None:
        return "skipped"  # sent already, or another worker holds it
    user = _recipient(row)
    if user is None:
        return _settle(row, "no_account" if row.purpose == RESET else "not_needed")

    config = current_app.config
    seconds = int(
        config["EMAIL_VERIFY_TOKEN_SECONDS"]
        if row.purpose == VERIFY
        else config["PASSWORD_RESET_TOKEN_SECONDS"]
    )
    token = email_tokens.new_token()
    row.user_id = user.id
    row.token_hash = email_tokens.token_hash(token)
    row.token_version = user.token_version
    row.expires_at = utcnow() + timedelta(seconds=seconds)
    db.session.commit()  # the link must work the moment the message arrives

    path = "verify-email" if row.purpose == VERIFY else "reset-password"
    link = f"{config['PUBLIC_URL'].rstrip('/')}/{path}?token={token}"
    template = "verify_email" if row.purpose == VERIFY else "reset_password"
    message = mail_service.render(
        template,
        link=link,
        email=user.email,
        full_name=user.full_name,
        hours=seconds // 3600,
        minutes=seconds // 60,
    )
    try:
        mail_service.send(user.email, message)
    except (SMTPException, OSError) as exc:
        # Never seen by anyone: forget the token; the retry mints a new one.
        row.token_hash = row.token_version = row.expires_at = None
        row.claimed_until = None
        row.last_error = f"{exc.__class__.__name__}: {exc}"[:255]
        db.session.commit()
        raise MailNotSent(row.last_error) from exc
    row.last_error = None
    return _settle(row, "sent")


def give_up(mail_id: int) -> None:
    """Out of retries: settle the row so the sweep leaves it alone."""
    db.session.rollback()
    row = db.session.get(AccountMail, mail_id)
    if row is not None and row.sent_at is None:
        _settle(row, "gave_up")
        log.error("mail %s not sent after %s attempts: %s", mail_id, row.attempts, row.last_error)


def sweep(now: datetime | None = None) -> int:
    """Beat: publish unsent rows whose task never reached the broker (or was lost)."""
    now = now or utcnow()
    ids = (
        db.session.execute(
            select(AccountMail.id)
            .where(
                AccountMail.sent_at.is_(None),
                AccountMail.created_at > now - SWEEP_MAX_AGE,
                or_(
                    # never queued (the broker was down); the request publishes within ms
                    and_(AccountMail.enqueued_at.is_(None), AccountMail.created_at < now - PUBLISH_GRACE),
                    AccountMail.enqueued_at < now - SWEEP_GRACE,  # queued, but never ran
                ),
                or_(AccountMail.claimed_until.is_(None), AccountMail.claimed_until < now),
            )
            .order_by(AccountMail.id)
            .limit(500)
        )
        .scalars()
        .all()
    )
    return sum(1 for mail_id in ids if publish(mail_id))


def prune(days: int = RETENTION_DAYS, now: datetime | None = None) -> int:
    """Beat, daily: rows created more than ``days`` ago (every token in them has long expired)."""
    cutoff = (now or utcnow()) - timedelta(days=days)
    result = db.session.execute(
        delete(AccountMail)
        .where(AccountMail.created_at < cutoff)
        .execution_options(synchronize_session=False)
    )
    db.session.commit()
    return rows_affected(result)
