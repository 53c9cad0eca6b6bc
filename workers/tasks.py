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
