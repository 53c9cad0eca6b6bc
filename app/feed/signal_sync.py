"""Fill Alpine's local signals copy from Argo (beat task every 30 s, and the CLI).

Pages through Argo's newest-first stream (``SIGNAL_SYNC_PAGE_SIZE``, Argo's
max 500) and stores every verified signal with INSERT ... ON CONFLICT DO
NOTHING, so running it twice (or concurrently, or after a broker
redelivery) stores nothing twice. It stops at the first page that adds no new
row (caught up: everything older is already here), at the end of Argo's
stream, or after ``SIGNAL_SYNC_MAX_PAGES`` pages (a first sync of a large
store fills the newest ``pages * page_size`` and later syncs keep it current).
Signals that fail verification are rejected, logged and counted, never stored.
"""

from __future__ import annotations

import logging
from dataclasses import asdict, dataclass

from flask import current_app

from app.feed import signal_ingest
from app.feed.argo_client import argo_client

log = logging.getLogger(__name__)


@dataclass
class SyncResult:
    pages: int = 0
    fetched: int = 0
    stored: int = 0
    rejected: int = 0

    def as_dict(self) -> dict:
        return asdict(self)


def sync_signals(max_pages: int | None = None, page_size: int | None = None) -> SyncResult:
    """One sync pass. Raises ``ArgoUnavailable`` when Argo cannot be reached."""
    config = current_app.config
    max_pages = max_pages or int(config.get("SIGNAL_SYNC_MAX_PAGES", 20))
    page_size = page_size or int(config.get("SIGNAL_SYNC_PAGE_SIZE", 500))
    result = SyncResult()
    for page in range(max_pages):
        raw = argo_client.latest(limit=page_size, offset=page * page_size)
        verified = signal_ingest.accept_many(raw, "sync")
        # The database is the truth here, not the feed's per-process memory.
        stored = signal_ingest.store_new(verified, use_recent=False)
        result.pages += 1
        result.fetched += len(raw)
        result.rejected += len(raw) - len(verified)
        result.stored += stored
        if len(raw) < page_size or stored == 0:
            break
    log.info("signals sync: %s", result.as_dict())
    return result
