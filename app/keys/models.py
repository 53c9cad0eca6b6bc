"""API keys: one row per key, never the key itself (only its SHA-256)."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from app.core.sqlbase import UTCDateTime, utcnow
from app.extensions import Model


class ApiKey(Model):
    """A bot's credential. Revoking sets ``revoked_at``; the row stays (usage history)."""

    __tablename__ = "api_keys"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    # Looked up on every request that carries a key: unique index, never a scan.
    prefix: Mapped[str] = mapped_column(String(16), unique=True)
    key_hash: Mapped[str] = mapped_column(String(64))
    scopes: Mapped[str] = mapped_column(String(200))  # space-separated, like OAuth's scope
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)

    if TYPE_CHECKING:  # declared for the checker only: SQLAlchemy maps every annotation it sees
        key: str  # set on a new row for its one response (views.create_key); never stored

    @property
    def scope_list(self) -> list[str]:
        return self.scopes.split()

    def __repr__(self) -> str:  # never the hash
        return f"<ApiKey {self.id} {self.prefix} user={self.user_id}>"
