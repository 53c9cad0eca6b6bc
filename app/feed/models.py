"""Alpine's local copy of Argo's signals.

Filled by the ``signals sync`` beat task and by the feed itself (what it
fetches on the request path is upserted). Only signals whose sha256 verified
on ingest are ever stored. The feed serves from here, newest first, when Argo
is unreachable; analytics count "published" signals by ``created_at`` (when
Alpine stored them), not by the signal's own ``timestamp``.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Float, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from app.core.sqlbase import UTCDateTime, utcnow
from app.extensions import Model


class Signal(Model):
    __tablename__ = "signals"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    sha256: Mapped[str] = mapped_column(String(64), unique=True)
    symbol: Mapped[str] = mapped_column(String(16))
    action: Mapped[str] = mapped_column(String(4))
    confidence: Mapped[float] = mapped_column(Float)
    price: Mapped[float] = mapped_column(Float)
    entry_price: Mapped[float] = mapped_column(Float)
    stop_loss: Mapped[float] = mapped_column(Float)
    take_profit: Mapped[float] = mapped_column(Float)
    target_price: Mapped[float] = mapped_column(Float)
    # The signal's own time (UTC). Served in the canonical form Argo hashed.
    timestamp: Mapped[datetime] = mapped_column(UTCDateTime())
    strategy: Mapped[str] = mapped_column(String(64))
    # When Alpine stored it: "signals published" analytics count by this.
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    def __repr__(self) -> str:
        return f"<Signal {self.symbol} {self.action} {self.confidence} {self.sha256[:12]}>"


# Declared after the class so the DESC expressions can name the mapped columns.
# Newest first (id breaks timestamp ties: insertion order, oldest row of a batch first).
Index("ix_signals_timestamp_id", Signal.timestamp.desc(), Signal.id.desc())
# One symbol, newest first.
Index("ix_signals_symbol_timestamp", Signal.symbol, Signal.timestamp.desc())
# premium_only on the stale path (confidence >= 95 is a small slice).
Index("ix_signals_confidence_timestamp", Signal.confidence, Signal.timestamp.desc())
# "signals published today/this week" analytics.
Index("ix_signals_created_at", Signal.created_at)
