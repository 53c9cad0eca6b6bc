"""Single-use tokens for account mail (verification, password reset).

A token is 32 random bytes (URL-safe base64). Only its SHA-256 is stored: a
slow hash buys nothing for a secret with 256 bits of entropy, and an indexed
lookup by hash needs a deterministic one. Redemption is one atomic
``UPDATE ... SET used_at = now WHERE token_hash = ? AND used_at IS NULL AND
expires_at > now``: of two concurrent redemptions exactly one gets the row.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select, update

from app.accounts.mail_models import AccountMail
from app.core.sqlbase import utcnow
from app.extensions import db

TOKEN_BYTES = 32


def new_token() -> str:
    return secrets.token_urlsafe(TOKEN_BYTES)


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()


@dataclass(frozen=True)
class Redeemable:
    mail_id: int
    user_id: int
    email: str
    token_version: int | None


def _live(purpose: str, token: str, now: datetime):
    return (
        AccountMail.token_hash == token_hash(token),
        AccountMail.purpose == purpose,
        AccountMail.used_at.is_(None),
        AccountMail.expires_at > now,
        AccountMail.user_id.is_not(None),
    )


def peek(purpose: str, token: str) -> Redeemable | None:
    """The live row a token names, without using it up (to check a new password first)."""
    row = db.session.execute(
        select(AccountMail.id, AccountMail.user_id, AccountMail.email, AccountMail.token_version).where(
            *_live(purpose, token, utcnow())
        )
    ).first()
    return Redeemable(*row) if row else None


def consume(purpose: str, token: str, mail_id: int | None = None) -> Redeemable | None:
    """Use the token up, in the caller's transaction (not committed here).

    None when it is unknown, used, expired or of another purpose, and also when
    a concurrent redemption got there first (PostgreSQL re-checks ``used_at IS
    NULL`` after the other transaction commits).
    """
    conditions = list(_live(purpose, token, utcnow()))
    if mail_id is not None:
        conditions.append(AccountMail.id == mail_id)
    row = db.session.execute(
        update(AccountMail)
        .where(*conditions)
        .values(used_at=utcnow())
        .returning(AccountMail.id, AccountMail.user_id, AccountMail.email, AccountMail.token_version)
        .execution_options(synchronize_session=False)
    ).first()
    return Redeemable(*row) if row else None


def retire_unused(user_id: int, purpose: str) -> None:
    """Every other live token of this user and purpose is used up too (caller commits)."""
    db.session.execute(
        update(AccountMail)
        .where(
            AccountMail.user_id == user_id,
            AccountMail.purpose == purpose,
            AccountMail.used_at.is_(None),
            AccountMail.token_hash.is_not(None),
        )
        .values(used_at=utcnow())
        .execution_options(synchronize_session=False)
    )
