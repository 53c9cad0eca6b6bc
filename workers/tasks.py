"""Celery tasks: thin wrappers over services in app/ that the CLI calls too.

Written with ``@shared_task`` so this module never imports the app; they take
ids and plain values, never ORM objects.
"""
from __future__ import annotations

from celery import shared_task  # noqa: F401  (tasks are added by the feature modules)


@shared_task(name="metrics.rollup")
def rollup_request_metrics(include_open: bool = False) -> dict:
    """Beat, every minute: closed minutes of request counters -> SQL, exactly once."""
    from app.metrics.rollup import run_rollup

    return run_rollup(include_open=include_open).as_dict()


@shared_task(name="accounts.prune_revoked_tokens")
def prune_revoked_tokens() -> int:
    """Beat, hourly: drop revocations whose login session has ended anyway."""
    from app.services.tokens import prune_expired

    return prune_expired()
