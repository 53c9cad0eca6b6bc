"""Argo's Flask class: ``ensure_sync`` remembers which functions are plain.

Flask calls ``ensure_sync(func)`` for the view and for every before/after
request hook on every request (flask-smorest's view wrapper calls it once
more), and each call runs ``inspect.iscoroutinefunction``: four calls, ~6 us of
a ~150 us request in-process on the hottest endpoint. The answer for a given
plain function never changes, so this class remembers the plain functions it
has seen; overriding ``ensure_sync`` is Flask's documented extension point.

Bounded: at most :data:`SYNC_MEMO_MAX` functions (a route's views and hooks
are a handful; anything past the bound is simply checked every time). Only
plain Python functions are remembered -- not bound methods (a new object on
every access) nor other callables (possibly unhashable) -- and never a
coroutine function, which still goes to Flask's ``async_to_sync``.
"""

from __future__ import annotations

from collections.abc import Callable
from types import FunctionType
from typing import Any

from flask import Flask

SYNC_MEMO_MAX = 256


class ArgoFlask(Flask):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.known_sync: set[Callable[..., Any]] = set()

    def ensure_sync(self, func: Callable[..., Any]) -> Callable[..., Any]:
        plain = type(func) is FunctionType
        if plain and func in self.known_sync:
            return func
        result = super().ensure_sync(func)
        if plain and result is func and len(self.known_sync) < SYNC_MEMO_MAX:
            self.known_sync.add(func)  # a set's add is atomic under the GIL
        return result
