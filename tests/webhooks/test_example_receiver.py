"""examples/webhook_receiver.py accepts what Alpine sends and refuses a forgery."""

from __future__ import annotations

import json

import pytest
import requests

from tests.conftest import free_port
from tests.hardening.servers import ROOT, Proc, env_with, wait_http
from tests.webhooks.receivers import wait_for

pytestmark = pytest.mark.slow


def test_the_example_verifies_a_real_delivery(app, client, auth, worker, tmp_path):
    pro = auth.user(tier="pro")
    port = free_port()
    url = f"http://127.0.0.1:{port}/hook"
    endpoint = client.post(
        "/api/webhooks", json={"url": url, "events": ["signal.created"]}, headers=pro.headers
    ).get_json()
    log = tmp_path / "receiver.log"
    receiver = Proc(
        [str(ROOT / ".venv/bin/python"), str(ROOT / "examples/webhook_receiver.py"), str(port)],
        env_with({}, WEBHOOK_SECRET=endpoint["secret"], PYTHONUNBUFFERED="1"),
        log,
    ).start()
    try:
        wait_http(f"http://127.0.0.1:{port}/", receiver)
        forged = requests.post(
            url,
            data=b'{"type":"signal.created"}',
            headers={"webhook-id": "msg_x", "webhook-timestamp": "1", "webhook-signature": "v1,AAAA"},
            timeout=5,
        )
        assert forged.status_code == 400
        msg_id = client.post(f"/api/webhooks/{endpoint['id']}/test", headers=pro.headers).get_json()[
            "message_id"
        ]
        line = wait_for(lambda: [x for x in receiver.log().splitlines() if x.startswith("{")])[0]
        event = json.loads(line)
        assert event["webhook-id"] == msg_id and event["type"] == "webhook.test"
        deliveries = wait_for(
            lambda: client.get(f"/api/webhooks/{endpoint['id']}/deliveries", headers=pro.headers).get_json()[
                "items"
            ]
        )
        assert deliveries[0]["status_code"] == 204
    finally:
        receiver.kill()
