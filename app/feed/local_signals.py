"""Queries over Alpine's local signals copy (the stale path and deep pages)."""

from __future__ import annotations

from sqlalchemy import select

from app.accounts.tiers import PREMIUM_CONFIDENCE
from app.extensions import db
from app.feed.models import Signal
from app.feed.signal_ingest import row_to_signal


def latest(
    *,
    limit: int,
    offset: int = 0,
    premium_only: bool = False,
    symbol: str | None = None,
    include_premium: bool = True,
) -> list[dict]:
    """Newest first, the same filters and tier rule as the fresh path."""
    query = select(Signal)
    if symbol:
        query = query.where(Signal.symbol == symbol)
    if premium_only:
        query = query.where(Signal.confidence >= PREMIUM_CONFIDENCE)
    if not include_premium:
        query = query.where(Signal.confidence < PREMIUM_CONFIDENCE)
    query = query.order_by(Signal.timestamp.desc(), Signal.id.desc()).limit(limit).offset(offset)
    return [row_to_signal(s) for s in db.session.execute(query).scalars()]


def is_empty() -> bool:
    return db.session.execute(select(Signal.id).limit(1)).first() is None


def count() -> int:
    from sqlalchemy import func

    return db.session.execute(select(func.count()).select_from(Signal)).scalar_one()
