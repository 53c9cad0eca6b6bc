"""Celery beat's schedule, beside the tasks it names (workers/tasks.py).

Attached by ``workers/celery_app.py``, the ``-A`` target beat runs with. Each
entry names a task of workers/tasks.py by its registered name.
"""

from __future__ import annotations

BEAT_SCHEDULE: dict[str, dict] = {
    # Fill Alpine's local signals copy from Argo (app/feed/signal_sync.py).
    "signals-sync": {"task": "signals.sync", "schedule": 30.0},
    # Drop revocations whose tokens have expired anyway (app/accounts/tokens.py).
    "prune-revoked-tokens": {"task": "accounts.prune_revoked_tokens", "schedule": 3600.0},
    # Failed-login rows older than 90 days (app/accounts/login_throttle.py).
    "prune-failed-logins": {"task": "accounts.prune_failed_logins", "schedule": 86400.0},
    # Closed minutes of request counters: Redis -> SQL, exactly once (app/metrics/rollup.py).
    "metrics-rollup": {"task": "metrics.rollup", "schedule": 60.0},
    # Webhook messages whose delivery task was lost (app/webhooks/delivery.py).
    "webhooks-sweep": {"task": "webhooks.sweep", "schedule": 15.0},
    # Account mail whose task never reached the broker (Redis was down) (app/accounts/mail_outbox.py).
    "mail-sweep": {"task": "mail.sweep", "schedule": 60.0},
    # Account-mail rows older than 30 days (app/accounts/mail_outbox.py).
    "mail-prune": {"task": "mail.prune", "schedule": 86400.0},
    # Per-user feed counts of today and yesterday: quota counters -> SQL (app/usage/snapshot.py).
    "usage-snapshot": {"task": "usage.snapshot", "schedule": 600.0},
}
