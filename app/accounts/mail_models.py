"""Account mail: one row per verification or password-reset message.

The row is written in the request (the outbox: it survives a Redis that is down
when the Celery task is queued); the worker claims it, mints the token, stores
only its SHA-256 (``token_hash``) and sends the message. Redeeming a token is
one ``UPDATE ... WHERE used_at IS NULL`` on this row, so it works once even
for two concurrent redemptions.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from app.core.sqlbase import UTCDateTime, utcnow
from app.extensions import Model

VERIFY = "verify"
RESET = "reset"


class AccountMail(Model):
    __tablename__ = "account_mails"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    purpose: Mapped[str] = mapped_column(String(16))  # VERIFY or RESET
    # Verification: the user. Reset: None until the worker finds an account for
    # ``email`` (requests for unknown addresses are written too: same work, same time).
    user_id: Mapped[int | None] = mapped_column(Integer, index=True)
    email: Mapped[str] = mapped_column(String(254))  # the address the request named
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, index=True)
    # Last time a task for this row was queued (or a retry scheduled): the sweep
    # re-queues rows whose task never reached the broker.
    enqueued_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    claimed_until: Mapped[datetime | None] = mapped_column(UTCDateTime())  # a worker is sending it
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(String(255))
    # Set when the message went out (or was settled without one: no such account).
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), index=True)
    outcome: Mapped[str | None] = mapped_column(String(32))  # sent, no_account, not_needed, gave_up
    # The token: only a hash, minted by the worker at send time.
    token_hash: Mapped[str | None] = mapped_column(String(64), unique=True)
    token_version: Mapped[int | None] = mapped_column(Integer)  # the user's, when minted (reset)
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    def __repr__(self) -> str:  # never the token hash
        return f"<AccountMail {self.id} {self.purpose} user={self.user_id}>"
