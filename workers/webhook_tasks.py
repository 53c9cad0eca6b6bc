"""Webhook push tasks: thin wrappers over app/webhooks/ (ids in, never ORM objects).

``acks_late``: a task is acknowledged only after it ran, so a worker killed
mid-delivery leaves it to the broker; the message table and the sweeper make
sure nothing is lost even when the broker forgets it too.
"""

from __future__ import annotations

from celery import shared_task


@shared_task(name="webhooks.fanout", acks_late=True, reject_on_worker_lost=True)
def fan_out_signals(sha256s: list[str]) -> int:
    """New signals -> one pending message per matching endpoint (idempotent)."""
    from app.webhooks.fanout import fan_out

    return len(fan_out(list(sha256s)))


@shared_task(name="webhooks.deliver", acks_late=True, reject_on_worker_lost=True)
def deliver_message(message_id: int) -> str:
    """One attempt at one message; schedules its own retry on failure."""
    from app.webhooks.delivery import attempt

    return attempt(int(message_id))


@shared_task(name="webhooks.deliver_many", acks_late=True, reject_on_worker_lost=True)
def deliver_messages(message_ids: list[int]) -> int:
    """First attempts of a fan-out's messages (POSTs in parallel); returns how many were delivered."""
    from app.webhooks.delivery import attempt_many

    results = attempt_many([int(i) for i in message_ids])
    return sum(1 for r in results.values() if r == "delivered")


@shared_task(name="webhooks.sweep")
def sweep_webhook_messages() -> int:
    """Beat: re-publish pending messages whose delivery task was lost."""
    from app.webhooks.delivery import sweep

    return sweep()
