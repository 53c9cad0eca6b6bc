"""The one rule for a production secret, shared by Alpine (config.py) and Argo.

Length alone is not enough: 32 spaces or ``"ab" * 16`` are 32 bytes and
guessable. A secret must be at least 32 bytes with at least 10 distinct
characters (``secrets.token_urlsafe(32)`` or ``openssl rand -hex 32`` pass
by a wide margin). Imports neither app.
"""

from __future__ import annotations

MIN_SECRET_BYTES = 32
MIN_DISTINCT_CHARACTERS = 10


def secret_problem(name: str, value: str | None) -> str | None:
    """Why ``value`` is not acceptable as the secret ``name``, or None if it is."""
    if not value:
        return f"{name} must be set"
    if len(value.encode()) < MIN_SECRET_BYTES:
        return f"{name} must be a secret of at least {MIN_SECRET_BYTES} bytes"
    if len(set(value)) < MIN_DISTINCT_CHARACTERS:
        return f"{name} must contain at least {MIN_DISTINCT_CHARACTERS} distinct characters"
    return None
