"""Push: new signals delivered to subscribers' HTTPS endpoints, signed per Standard Webhooks.

models (endpoints, messages, delivery attempts), endpoints (CRUD service),
views (/api/webhooks), signing, ssrf (the outbound address guard), fanout
(new signal -> one message per matching endpoint), delivery (one attempt,
retries, disabling). Celery tasks live in workers/webhook_tasks.py.
"""
