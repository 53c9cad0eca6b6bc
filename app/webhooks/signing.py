"""Standard Webhooks signatures (standardwebhooks.com).

The signed content is ``"{webhook-id}.{webhook-timestamp}.{body}"``; the key is
the base64 part of the ``whsec_`` secret; the header value is ``v1,<base64
HMAC-SHA256>``, several separated by spaces (both secrets during a rotation's
overlap, the newest first). The ``standardwebhooks`` package verifies what
this module produces (tests/webhooks/test_signing.py).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets as _random

SECRET_PREFIX = "whsec_"
SECRET_BYTES = 32  # >= 24 required; the standard recommends 24..64


def new_secret() -> str:
    return SECRET_PREFIX + base64.b64encode(_random.token_bytes(SECRET_BYTES)).decode()


def new_message_id() -> str:
    return "msg_" + _random.token_urlsafe(18)  # 24 url-safe characters


def _key(secret: str) -> bytes:
    return base64.b64decode(secret.removeprefix(SECRET_PREFIX))


def signature(secret: str, msg_id: str, timestamp: int, body: bytes) -> str:
    signed = f"{msg_id}.{timestamp}.".encode() + body
    mac = hmac.new(_key(secret), signed, hashlib.sha256).digest()
    return "v1," + base64.b64encode(mac).decode()


def headers(secrets: list[str], msg_id: str, timestamp: int, body: bytes) -> dict[str, str]:
    """The three Standard Webhooks headers for one attempt (``timestamp``: now, each attempt)."""
    return {
        "webhook-id": msg_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": " ".join(signature(s, msg_id, timestamp, body) for s in secrets),
    }
