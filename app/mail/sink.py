"""A local SMTP server that keeps what it receives (aiosmtpd): for ./run and the tests.

Not a mock: the apps talk real SMTP to it. ``./run`` starts one that stores
each message as an ``.eml`` file under ``instance/mail/`` and prints its links
(embedded.py); the tests keep the messages in memory, stop and restart it on
the same port (a mail server that is down, then back), or make it answer
slowly (the registration benchmark).
"""

from __future__ import annotations

import asyncio
import re
import threading
import time
from collections.abc import Callable
from email import message_from_bytes, policy
from email.message import EmailMessage
from typing import Any

from aiosmtpd.controller import Controller

LINK = re.compile(r"^https?://\S+$")


def text_part(message: EmailMessage) -> str:
    part = message.get_body(preferencelist=("plain",))
    return part.get_content() if part is not None else ""


def html_part(message: EmailMessage) -> str:
    part = message.get_body(preferencelist=("html",))
    return part.get_content() if part is not None else ""


def links(message: EmailMessage) -> list[str]:
    """The links of the text part: each stands on a line of its own."""
    return [line.strip() for line in text_part(message).splitlines() if LINK.match(line.strip())]


class _Handler:
    def __init__(self, sink: MailSink) -> None:
        self.sink = sink

    async def handle_DATA(self, server: object, session: object, envelope: Any) -> str:  # noqa: N802 - aiosmtpd's hook
        if self.sink.delay:
            await asyncio.sleep(self.sink.delay)
        message = message_from_bytes(envelope.content, policy=policy.default)
        self.sink.received(message, list(envelope.rcpt_tos), envelope.content)
        return "250 Message accepted for delivery"


class MailSink:
    """``start()`` / ``stop()`` (restartable on the same port); ``messages`` as received."""

    def __init__(
        self,
        port: int,
        host: str = "127.0.0.1",
        delay: float = 0.0,
        on_message: Callable[[EmailMessage, list[str], bytes], None] | None = None,
    ) -> None:
        self.host, self.port, self.delay = host, port, delay
        self.on_message = on_message
        self.messages: list[tuple[list[str], EmailMessage]] = []
        self._lock = threading.Lock()
        self._controller: Controller | None = None

    def start(self) -> MailSink:
        self._controller = Controller(_Handler(self), hostname=self.host, port=self.port, ready_timeout=10)
        self._controller.start()
        return self

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None

    def received(self, message: EmailMessage, rcpt_tos: list[str], raw: bytes) -> None:
        with self._lock:
            self.messages.append((rcpt_tos, message))
        if self.on_message is not None:
            self.on_message(message, rcpt_tos, raw)

    def to(self, address: str) -> list[EmailMessage]:
        with self._lock:
            return [m for rcpt, m in self.messages if address in rcpt]

    def wait_for(self, address: str, count: int = 1, timeout: float = 60.0) -> list[EmailMessage]:
        """The first ``count`` messages to ``address``, waiting up to ``timeout`` s for them."""
        deadline = time.monotonic() + timeout
        while True:
            found = self.to(address)
            if len(found) >= count:
                return found
            if time.monotonic() > deadline:
                raise AssertionError(f"{count} message(s) to {address} expected, got {len(found)}")
            time.sleep(0.05)
