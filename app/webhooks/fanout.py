"""New signals -> one webhook message per matching endpoint (in a Celery task).

``enqueue_new_signals`` is what the ingest path calls with the sha256s its
unique insert reported as new, so exactly one process enqueues each signal
however many saw it. It only publishes a task: the matching and every HTTP
request happen in the worker, never in a web request.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable

from flask import current_app
from sqlalchemy import select

from app.extensions import db

log = logging.getLogger(__name__)

FANOUT_TASK = "webhooks.fanout"


def _any_active_endpoint() -> bool:
    from app.webhooks.models import WebhookEndpoint

    return (
        db.session.execute(select(WebhookEndpoint.id).where(WebhookEndpoint.is_active).limit(1)).first()
        is not None
    )


def enqueue_new_signals(sha256s: Iterable[str]) -> None:
    """Publish one fan-out task for these newly stored signals. Never raises:
    the ingest path that calls it must keep working when the broker does not."""
    sha256s = list(sha256s)
    if not sha256s:
        return
    try:
        # No endpoint at all (most installs, most tests): no broker round trip.
        if not _any_active_endpoint():
            return
        celery = current_app.extensions["celery"]
        celery.send_task(FANOUT_TASK, args=[sha256s], retry=False)
    except Exception:  # noqa: BLE001 - logged; the feed must not fail because of push
        db.session.rollback()
        log.exception("webhooks: could not enqueue the fan-out of %d new signal(s)", len(sha256s))
