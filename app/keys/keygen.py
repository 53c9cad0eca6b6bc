"""The key string: how it is made, parsed and hashed.

``alp_<prefix>_<secret>``: ``prefix`` is 12 lowercase hex characters (48 random
bits) kept in clear and indexed, so a lookup is one indexed SELECT by prefix,
never a scan; ``secret`` is 32 random bytes, base64url without padding (43
characters). The whole string is 60 characters.

Only ``SHA-256(key)`` is stored (hex). A salted slow hash (bcrypt, argon2)
exists to make guessing a *human* password expensive; a 256-bit random secret
cannot be guessed, so one SHA-256 is enough and costs ~1 us per request. An
HMAC with a server key would add nothing against guessing and would tie every
key to that server secret (rotating it would silently kill every bot).
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass

KEY_PREFIX = "alp_"
PREFIX_CHARS = 12
SECRET_BYTES = 32
_SECRET_CHARS = 43  # base64url of 32 bytes, no padding
KEY_LENGTH = len(KEY_PREFIX) + PREFIX_CHARS + 1 + _SECRET_CHARS
_KEY_RE = re.compile(rf"alp_([0-9a-f]{{{PREFIX_CHARS}}})_([A-Za-z0-9_-]{{{_SECRET_CHARS}}})")


@dataclass(frozen=True, slots=True)
class NewKey:
    prefix: str
    key: str  # shown to the user once, never stored
    key_hash: str


def generate() -> NewKey:
    prefix = secrets.token_hex(PREFIX_CHARS // 2)
    key = f"{KEY_PREFIX}{prefix}_{secrets.token_urlsafe(SECRET_BYTES)}"
    return NewKey(prefix=prefix, key=key, key_hash=hash_key(key))


def hash_key(key: str) -> str:
    return hashlib.sha256(key.encode("ascii")).hexdigest()


def looks_like_key(value: str | None) -> bool:
    """Cheap test: is this credential meant as an API key (vs. a JWT)?"""
    return value is not None and value.startswith(KEY_PREFIX)


def parse_prefix(key: str) -> str | None:
    """The prefix of a well-formed key, else None (too long, NUL, wrong alphabet...)."""
    if len(key) != KEY_LENGTH:
        return None
    match = _KEY_RE.fullmatch(key)
    return match.group(1) if match else None


def matches(key: str, key_hash: str) -> bool:
    return hmac.compare_digest(hash_key(key), key_hash)
