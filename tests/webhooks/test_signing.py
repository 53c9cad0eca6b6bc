"""What we send verifies with the `standardwebhooks` package; tampering does not."""

from __future__ import annotations

import json
import time

import pytest
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from app.webhooks import signing

BODY = json.dumps({"type": "signal.created", "timestamp": "2026-01-01T00:00:00Z", "data": {"symbol": "AAPL"}})


def _headers(secrets, body=BODY, timestamp=None, msg_id="msg_abc"):
    return signing.headers(secrets, msg_id, int(timestamp or time.time()), body.encode())


def test_standardwebhooks_verifies_what_we_send():
    secret = signing.new_secret()
    payload = Webhook(secret).verify(BODY, _headers([secret]))
    assert payload["data"]["symbol"] == "AAPL"


def test_a_changed_body_fails():
    secret = signing.new_secret()
    headers = _headers([secret])
    with pytest.raises(WebhookVerificationError):
        Webhook(secret).verify(BODY.replace("AAPL", "MSFT"), headers)


def test_an_old_timestamp_fails_even_when_correctly_signed():
    secret = signing.new_secret()
    with pytest.raises(WebhookVerificationError):
        Webhook(secret).verify(BODY, _headers([secret], timestamp=time.time() - 600))


def test_another_secret_fails():
    with pytest.raises(WebhookVerificationError):
        Webhook(signing.new_secret()).verify(BODY, _headers([signing.new_secret()]))


def test_during_a_rotation_both_secrets_verify():
    old, new = signing.new_secret(), signing.new_secret()
    headers = _headers([new, old])
    assert len(headers["webhook-signature"].split(" ")) == 2
    for secret in (old, new):
        Webhook(secret).verify(BODY, headers)


def test_secrets_and_ids_are_random_and_well_formed():
    secrets = {signing.new_secret() for _ in range(50)}
    assert len(secrets) == 50
    assert all(s.startswith("whsec_") for s in secrets)
    ids = {signing.new_message_id() for _ in range(50)}
    assert len(ids) == 50 and all(i.startswith("msg_") for i in ids)
