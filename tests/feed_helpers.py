"""Helpers for the feed tests (tests/feed): a real Argo with
a recorder in front, crafted signals, users with tokens."""

from __future__ import annotations

import threading
import time
import uuid
from datetime import UTC, datetime, timedelta

from prometheus_client import REGISTRY

from argo_app.model import make_signal

T0 = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)


class ArgoRecorder:
    """WSGI middleware in front of the real Argo app: records the client port
    of every request (one port = one TCP connection) and can make Argo answer
    503 or stall, to exercise retries, timeouts and the breaker."""

    def __init__(self, wsgi_app) -> None:
        self.wsgi_app = wsgi_app
        self.lock = threading.Lock()
        self.requests: list[tuple[str, str]] = []  # (path, client port)
        self.fail_with: int | None = None
        self.delay = 0.0

    def __call__(self, environ, start_response):
        with self.lock:
            self.requests.append((environ.get("PATH_INFO", ""), str(environ.get("REMOTE_PORT"))))
        if self.delay:
            time.sleep(self.delay)
        if self.fail_with:
            start_response(f"{self.fail_with} Failing", [("Content-Type", "application/json")])
            return [b'{"error": {"code": "injected", "message": "test fault", "details": {}}}']
        return self.wsgi_app(environ, start_response)

    def hits(self, prefix: str = "/api/") -> int:
        with self.lock:
            return sum(1 for path, _ in self.requests if path.startswith(prefix))

    def ports(self) -> set[str]:
        with self.lock:
            return {port for _, port in self.requests}

    def reset(self) -> None:
        with self.lock:
            self.requests.clear()


def crafted(
    n: int,
    *,
    premium_every: int = 0,
    symbols=("AAPL", "MSFT"),
    start: datetime = T0,
    confidence: float = 70.0,
) -> list[dict]:
    """``n`` valid signals, one minute apart (the last is the newest); every
    ``premium_every``-th one (counting from the newest) has confidence 97."""
    out = []
    for i in range(n):
        newest_rank = n - 1 - i
        premium = premium_every and newest_rank % premium_every == 0
        entry = 100.0 + i
        out.append(
            make_signal(
                symbol=symbols[i % len(symbols)],
                action="BUY",
                confidence=97.0 if premium else confidence + (i % 20),
                entry_price=entry,
                stop_loss=entry - 2,
                take_profit=entry + 4,
                timestamp=start + timedelta(minutes=i),
                strategy="test_consensus",
            )
        )
    return out


def newest_first(signals: list[dict]) -> list[dict]:
    return sorted(signals, key=lambda s: s["timestamp"], reverse=True)


def metric(name: str, **labels) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


def unique_email(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}@example.com"
