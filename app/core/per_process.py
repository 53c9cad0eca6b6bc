"""State one process keeps for one app, built once per process.

Under gunicorn an app may be built before the fork (``preload_app``); what a
process keeps in ``app.extensions`` -- a background thread, memory it alone
keeps current -- must never be its parent's. Each such object carries the
``pid`` it was built in; a process that finds another pid's builds its own.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from typing import Protocol, TypeVar


class _HasPid(Protocol):
    pid: int


T = TypeVar("T", bound=_HasPid)

_lock = threading.Lock()


def per_process(extensions: dict, key: str, build: Callable[[], T]) -> T:
    """``extensions[key]`` if this process built it, else ``build()``'s result,
    stored there (under a lock: two first requests must not start two threads)."""
    value = extensions.get(key)
    if value is not None and value.pid == os.getpid():
        return value
    with _lock:
        value = extensions.get(key)
        if value is None or value.pid != os.getpid():
            value = extensions[key] = build()
        return value
