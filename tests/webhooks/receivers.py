"""Real HTTP receivers on loopback ports for the webhook tests.

``Receiver(status=200)`` records every request (headers, body, arrival time)
and answers ``status`` (or ``redirect_to`` as a 302 Location); ``fail_first``
requests get a 500 first and ``status`` can be changed while it runs (a
receiver that fails, then recovers); ``hang_first`` holds the first answer.
"""

from __future__ import annotations

import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class Receiver:
    def __init__(
        self, status: int = 200, redirect_to: str | None = None, fail_first: int = 0, hang_first: float = 0.0
    ):
        self.status = status
        self.redirect_to = redirect_to
        self.fail_first = fail_first  # answer 500 to this many requests first
        self.hang_first = hang_first  # the first request waits this long before its answer
        self.requests: list[dict] = []
        self._lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 - http.server's naming
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length)
                with receiver._lock:
                    n = len(receiver.requests)
                    receiver.requests.append(
                        {
                            "path": self.path,
                            "headers": {k.lower(): v for k, v in self.headers.items()},
                            "body": body,
                            "at": time.time(),
                        }
                    )
                if n == 0 and receiver.hang_first:
                    time.sleep(receiver.hang_first)
                if receiver.redirect_to:
                    self.send_response(302)
                    self.send_header("Location", receiver.redirect_to)
                else:
                    self.send_response(500 if n < receiver.fail_first else receiver.status)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, *args):
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self.port = self._server.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}/hook"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def start(self) -> Receiver:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def received(self) -> list[dict]:
        with self._lock:
            return list(self.requests)


def wait_for(predicate, timeout: float = 30.0, interval: float = 0.1):
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout} s")
        time.sleep(interval)
