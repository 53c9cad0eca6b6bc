"""Is a password guessable? zxcvbn (Dropbox's estimator), score >= 3 of 4 required.

The account's email (whole, its local part and that part's pieces) and full
name (whole and word by word) are given to zxcvbn as user inputs, so a password
built from them scores as weak as it is. The feedback zxcvbn gives (a warning
and suggestions) becomes the 422 message, so the user learns why.
"""

from __future__ import annotations

import re

from zxcvbn import zxcvbn

MIN_SCORE = 3
# zxcvbn refuses longer input by default; our own maximum is 128 (checked before).
MAX_LENGTH = 128
_PIECES = re.compile(r"[^\w]+|_")


def user_inputs(email: str | None, full_name: str | None) -> list[str]:
    inputs: list[str] = []
    if email:
        local = email.split("@", 1)[0]
        inputs += [email, local, *_PIECES.split(local)]
    if full_name:
        inputs += [full_name, *full_name.split()]
    return [x.lower() for x in dict.fromkeys(inputs) if len(x) >= 3]


def weakness(password: str, email: str | None = None, full_name: str | None = None) -> str | None:
    """None if strong enough; otherwise a sentence saying why and how to do better."""
    result = zxcvbn(password[:MAX_LENGTH], user_inputs=user_inputs(email, full_name), max_length=MAX_LENGTH)
    if result["score"] >= MIN_SCORE:
        return None
    feedback = result.get("feedback") or {}
    parts = [feedback.get("warning") or "This password is easy to guess."]
    parts += feedback.get("suggestions") or ["Add another word or two. Uncommon words are better."]
    return "Password too easy to guess: " + " ".join(p.strip() for p in parts if p.strip())
