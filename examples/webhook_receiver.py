"""A tiny webhook receiver that verifies Alpine's signatures (Standard Webhooks).

    pip install standardwebhooks
    WEBHOOK_SECRET=whsec_... python examples/webhook_receiver.py [port]

Create the endpoint (pro or elite account) with the URL this prints, e.g.

    curl -X POST http://127.0.0.1:5000/api/webhooks -H "Authorization: Bearer $TOKEN" \\
         -H 'Content-Type: application/json' \\
         -d '{"url": "http://127.0.0.1:8765/hook", "events": ["signal.created"]}'

and start this receiver with the ``secret`` from the answer. It answers 204 to
a verified message and 400 to anything else (wrong signature, changed body, a
timestamp older than five minutes). Answer quickly: Alpine waits 5 s, then
retries the same message (same ``webhook-id``), so a receiver that acts on
signals should remember the ids it has handled.
"""

from __future__ import annotations

import json
import os
import sys
from collections import OrderedDict
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from standardwebhooks.webhooks import Webhook, WebhookVerificationError

MAX_BODY = 1024 * 1024
SEEN: OrderedDict[str, None] = OrderedDict()  # recent webhook-ids: retries are not acted on twice


class Handler(BaseHTTPRequestHandler):
    verifier: Webhook

    def do_POST(self):  # noqa: N802 - http.server's naming
        length = int(self.headers.get("Content-Length") or 0)
        if length > MAX_BODY:
            return self._answer(413)
        body = self.rfile.read(length)
        headers = {
            name: self.headers.get(name, "")
            for name in ("webhook-id", "webhook-timestamp", "webhook-signature")
        }
        try:
            event = self.verifier.verify(body, headers)
        except WebhookVerificationError as exc:
            print(f"refused: {exc}", file=sys.stderr)
            return self._answer(400)
        msg_id = headers["webhook-id"]
        if msg_id not in SEEN:
            SEEN[msg_id] = None
            while len(SEEN) > 10_000:
                SEEN.popitem(last=False)
            print(json.dumps({"webhook-id": msg_id, **event}), flush=True)
        return self._answer(204)

    def _answer(self, status: int):
        self.send_response(status)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args):
        pass


def main() -> None:
    secret = os.environ.get("WEBHOOK_SECRET")
    if not secret:
        sys.exit("set WEBHOOK_SECRET to the endpoint's secret (whsec_...)")
    port = int(sys.argv[1]) if len(sys.argv) > 1 else 8765
    Handler.verifier = Webhook(secret)
    server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    print(f"listening on http://127.0.0.1:{port}/hook", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
