"""N webhook receivers on loopback ports, in one process (the fan-out benchmark's far end).

    python bench/webhook_receivers.py N OUTFILE

Prints the N ports as one JSON line, answers every POST 204, and on SIGTERM
writes one JSON line per received message to OUTFILE: [sha256, receipt time].
"""

from __future__ import annotations

import json
import signal
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

ARRIVALS: list[tuple[str, float]] = []
LOCK = threading.Lock()


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_POST(self):  # noqa: N802 - http.server's naming
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        now = time.time()
        try:
            sha = json.loads(body)["data"].get("sha256", "")
        except (ValueError, KeyError, AttributeError):
            sha = ""
        with LOCK:
            ARRIVALS.append((sha, now))
        self.send_response(204)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args):
        pass


def main() -> None:
    count, outfile = int(sys.argv[1]), sys.argv[2]
    servers = []
    for _ in range(count):
        server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        server.daemon_threads = True
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
    done = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: done.set())
    print(json.dumps([s.server_address[1] for s in servers]), flush=True)
    done.wait()
    with LOCK, open(outfile, "w") as out:
        for sha, at in ARRIVALS:
            out.write(json.dumps([sha, at]) + "\n")


if __name__ == "__main__":
    main()
