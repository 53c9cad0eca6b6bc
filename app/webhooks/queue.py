"""Publishing delivery tasks by name (app/ never imports workers/)."""

from __future__ import annotations

import logging
from collections.abc import Iterable

from flask import current_app

log = logging.getLogger(__name__)

DELIVER_TASK = "webhooks.deliver"
DELIVER_MANY_TASK = "webhooks.deliver_many"
BATCH = 100


def deliver_soon(message_ids: Iterable[int], countdown: float | None = None) -> None:
    """One delivery task per message. A publish that fails is only logged: the
    message row stays pending and the sweeper (``webhooks.sweep``) sends it."""
    celery = current_app.extensions["celery"]
    for message_id in message_ids:
        try:
            celery.send_task(DELIVER_TASK, args=[message_id], countdown=countdown, retry=False)
        except Exception:  # noqa: BLE001 - the sweeper is the fallback
            log.warning("webhooks: could not publish delivery of message %s; the sweeper will", message_id)


def deliver_batches(message_ids: list[int]) -> None:
    """First attempts of many messages, up to BATCH per task (their POSTs run in
    parallel inside the task). Same fallback as ``deliver_soon``."""
    celery = current_app.extensions["celery"]
    for i in range(0, len(message_ids), BATCH):
        chunk = message_ids[i : i + BATCH]
        try:
            celery.send_task(DELIVER_MANY_TASK, args=[chunk], retry=False)
        except Exception:  # noqa: BLE001 - the sweeper is the fallback
            log.warning("webhooks: could not publish delivery of %d message(s); the sweeper will", len(chunk))
