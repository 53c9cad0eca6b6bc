"""argon2id password hashing (argon2-cffi), parameters from config.

``verify`` on an unknown email runs against a dummy hash made with the same
parameters, so "no such user" costs the same time as "wrong password".
"""

from __future__ import annotations

import threading

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from flask import current_app

_lock = threading.Lock()


class Passwords:
    def __init__(self, time_cost: int, memory_cost: int, parallelism: int) -> None:
        self.hasher = PasswordHasher(time_cost=time_cost, memory_cost=memory_cost, parallelism=parallelism)
        self._dummy: str | None = None

    def hash(self, password: str) -> str:
        return self.hasher.hash(password)

    def verify(self, password_hash: str | None, password: str) -> bool:
        """True if ``password`` matches; with ``password_hash=None`` burn the same time, False."""
        if password_hash is None:
            try:
                self.hasher.verify(self.dummy_hash(), password)
            except (VerificationError, InvalidHashError):
                pass
            return False
        try:
            return self.hasher.verify(password_hash, password)
        except (VerificationError, InvalidHashError):
            return False

    def needs_rehash(self, password_hash: str) -> bool:
        try:
            return self.hasher.check_needs_rehash(password_hash)
        except InvalidHashError:
            return True

    def dummy_hash(self) -> str:
        if self._dummy is None:
            self._dummy = self.hasher.hash("dummy password for timing equalisation")
        return self._dummy


def passwords() -> Passwords:
    """The app's hasher, built once per app from PASSWORD_HASH_* settings."""
    ext = current_app.extensions.get("passwords")
    if ext is None:
        with _lock:
            ext = current_app.extensions.get("passwords")
            if ext is None:
                cfg = current_app.config
                ext = Passwords(
                    cfg["PASSWORD_HASH_TIME_COST"],
                    cfg["PASSWORD_HASH_MEMORY_COST"],
                    cfg["PASSWORD_HASH_PARALLELISM"],
                )
                current_app.extensions["passwords"] = ext
    return ext
