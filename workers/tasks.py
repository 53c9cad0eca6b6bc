"""Celery tasks: thin wrappers over services in app/ that the CLI calls too.

Written with ``@shared_task`` so this module never imports the app; they take
ids and plain values, never ORM objects.
"""

from __future__ import annotations

from celery import shared_task


@shared_task(name="metrics.rollup")
def rollup_request_metrics(include_open: bool = False) -> dict:
    """Beat, every minute: closed minutes of request counters -> SQL, exactly once."""
    from app.metrics.rollup import run_rollup

    return run_rollup(include_open=include_open).as_dict()


@shared_task(name="accounts.prune_revoked_tokens")
def prune_revoked_tokens() -> int:
    """Beat, hourly: drop revocations whose login session has ended anyway."""
    from app.accounts.tokens import prune_expired

    return prune_expired()


@shared_task(name="accounts.prune_failed_logins")
def prune_failed_logins() -> int:
    """Beat, daily: failed-login rows (and ended lock rows) older than 90 days."""
    from app.accounts.login_throttle import prune_failed_logins as prune

    return prune()


@shared_task(name="signals.sync")
def sync_signals(max_pages: int | None = None) -> dict:
    """Beat, every 30 s: Argo's newest signals -> Alpine's local copy (idempotent).

    Argo being down is an expected state, not a task failure: it is logged and
    the next beat tick tries again (no Celery retry piling up behind it).
    """
    from app.feed.argo_client import ArgoUnavailable
    from app.feed.signal_sync import sync_signals as run_sync

    try:
        return run_sync(max_pages=max_pages).as_dict()
    except ArgoUnavailable as exc:
        return {"error": "upstream_unavailable", "reason": exc.reason}


@shared_task(name="mail.deliver", bind=True, max_retries=None)
def deliver_account_mail(self, mail_id: int) -> str:
    """One queued account mail (verification, reset) -> SMTP; retried with backoff.

    The retry count is ours (MAIL_MAX_RETRIES), then the row is settled as gave_up.
    """
    from flask import current_app

    from app.accounts import mail_outbox

    try:
        return mail_outbox.deliver(mail_id)
    except mail_outbox.MailNotSent as exc:
        if self.request.retries >= int(current_app.config["MAIL_MAX_RETRIES"]):
            mail_outbox.give_up(mail_id)
            return "gave_up"
        countdown = mail_outbox.retry_delay(self.request.retries)
        mail_outbox.retry_scheduled(mail_id, countdown)
        raise self.retry(exc=exc, countdown=countdown) from None


@shared_task(name="mail.sweep")
def sweep_account_mail() -> int:
    """Beat, every minute: queue account mail whose task never reached the broker."""
    from app.accounts.mail_outbox import sweep

    return sweep()


@shared_task(name="mail.prune")
def prune_account_mail() -> int:
    """Beat, daily: account-mail rows older than 30 days."""
    from app.accounts.mail_outbox import prune

    return prune()


@shared_task(name="usage.snapshot")
def snapshot_feed_usage() -> int:
    """Beat, every 10 min: today's and yesterday's per-user feed counts, Redis -> SQL."""
    from app.usage.snapshot import snapshot

    return snapshot()
