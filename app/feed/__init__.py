"""The signal feed: the Argo client and its breaker, ingest and verification,
the sync task's service, the local copy, tier rules and quotas, ``/api/signals/*``
(``views``) and the ``signals`` CLI group."""
