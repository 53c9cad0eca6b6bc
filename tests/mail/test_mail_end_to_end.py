"""Account mail end to end: a real SMTP server and a real Celery worker process.

Register -> the verification mail arrives -> its link verifies the address;
forgot-password -> the reset mail -> its link sets a new password (older
tokens die, the lockout is lifted). Used, expired, altered tokens are 400
invalid_token; two concurrent redemptions succeed once; an SMTP server that is
down at registration does not fail it, and the mail arrives once it is back.
"""

from __future__ import annotations

import threading
import time

import pytest
import requests
from sqlalchemy import select, update

from app.accounts.mail_models import AccountMail
from app.extensions import db
from tests.conftest import ServerThread
from tests.mail.conftest import PUBLIC_URL
from tests.mail.helpers import SEEN_TOKENS, register, token_of

pytestmark = [pytest.mark.slow, pytest.mark.usefixtures("mail_worker")]

NEW_PASSWORD = "a different horse staple 42"


def test_the_verification_link_verifies_the_address(client, smtp_sink, delivered):
    user = register(client, "verify-me@example.com")
    assert user["is_verified"] is False

    (message,) = delivered("verify-me@example.com")
    assert "Confirm your email" in message["Subject"]
    token = token_of(message, "verify-email")
    assert (
        f"{PUBLIC_URL}/verify-email?token={token}" in message.get_body(("plain",)).get_content().splitlines()
    )

    resp = client.post("/api/auth/verify-email", json={"token": token})
    assert resp.status_code == 200, resp.get_json()
    assert resp.get_json()["is_verified"] is True and resp.get_json()["email"] == "verify-me@example.com"

    tokens = client.post(
        "/api/auth/login", json={"email": "verify-me@example.com", "password": "correct horse battery"}
    ).get_json()
    me = client.get("/api/users/me", headers={"Authorization": f"Bearer {tokens['access_token']}"})
    assert me.get_json()["is_verified"] is True

    again = client.post("/api/auth/verify-email", json={"token": token})
    assert again.status_code == 400 and again.get_json()["error"]["code"] == "invalid_token"


def test_resend_sends_a_new_working_link(client, smtp_sink, delivered):
    register(client, "resend@example.com")
    delivered("resend@example.com")
    login = client.post(
        "/api/auth/login", json={"email": "resend@example.com", "password": "correct horse battery"}
    ).get_json()
    headers = {"Authorization": f"Bearer {login['access_token']}"}
    assert client.post("/api/auth/resend-verification", headers=headers).status_code == 202
    first, second = delivered("resend@example.com", count=2)[:2]
    assert token_of(first, "verify-email") != token_of(second, "verify-email")
    assert (
        client.post("/api/auth/verify-email", json={"token": token_of(second, "verify-email")}).status_code
        == 200
    )


def _lock_out(client, email):
    for _ in range(5):
        client.post("/api/auth/login", json={"email": email, "password": "wrong password here"})
    locked = client.post("/api/auth/login", json={"email": email, "password": "correct horse battery"})
    assert locked.status_code == 429


def test_reset_link_sets_the_password_revokes_tokens_and_lifts_the_lockout(client, smtp_sink, delivered):
    email = "forgetful@example.com"
    register(client, email)
    old = client.post(
        "/api/auth/login", json={"email": email, "password": "correct horse battery"}
    ).get_json()
    old_headers = {"Authorization": f"Bearer {old['access_token']}"}
    _lock_out(client, email)

    # An unknown address gets the same answer and no mail.
    unknown = client.post("/api/auth/forgot-password", json={"email": "nobody-here@example.com"})
    known = client.post("/api/auth/forgot-password", json={"email": email.upper()})
    assert unknown.status_code == known.status_code == 202
    assert unknown.get_data() == known.get_data()

    (message,) = [m for m in delivered(email, count=2) if "Reset" in m["Subject"]]
    token = token_of(message, "reset-password")

    weak = client.post("/api/auth/reset-password", json={"token": token, "new_password": "password123"})
    assert weak.status_code == 422  # refused before the token is used: it still works below

    resp = client.post("/api/auth/reset-password", json={"token": token, "new_password": NEW_PASSWORD})
    assert resp.status_code == 204, resp.get_json()

    assert client.get("/api/users/me", headers=old_headers).status_code == 401  # issued before the reset
    assert (
        client.post("/api/auth/login", json={"email": email, "password": "correct horse battery"}).status_code
        == 401
    )
    assert client.post("/api/auth/login", json={"email": email, "password": NEW_PASSWORD}).status_code == 200

    reuse = client.post(
        "/api/auth/reset-password", json={"token": token, "new_password": "yet another horse 77"}
    )
    assert reuse.status_code == 400 and reuse.get_json()["error"]["code"] == "invalid_token"
    assert smtp_sink.to("nobody-here@example.com") == []


def test_expired_altered_and_made_up_tokens_are_invalid(app, client, smtp_sink, delivered):
    register(client, "expiry@example.com")
    token = token_of(delivered("expiry@example.com")[0], "verify-email")

    altered = token[:-1] + ("A" if token[-1] != "A" else "B")
    for bad in (altered, token + "x", "made-up-token", "%00" * 40, "é" * 300, "' OR 1=1 --"):
        resp = client.post("/api/auth/verify-email", json={"token": bad})
        assert resp.status_code == 400, (bad, resp.get_json())
        assert resp.get_json()["error"]["code"] == "invalid_token"

    with app.app_context():
        db.session.execute(update(AccountMail).values(expires_at=AccountMail.created_at))
        db.session.commit()
    expired = client.post("/api/auth/verify-email", json={"token": token})
    assert expired.status_code == 400 and expired.get_json()["error"]["code"] == "invalid_token"

    with app.app_context():  # nothing stored the token itself
        rows = db.session.execute(select(AccountMail)).scalars().all()
        assert rows and all(token not in str(vars(row).values()) for row in rows)


def _redeem_concurrently(url: str, body: dict, n: int = 8) -> list[int]:
    barrier = threading.Barrier(n)
    statuses: list[int] = []

    def go():
        barrier.wait()
        statuses.append(requests.post(url, json=body, timeout=30).status_code)

    threads = [threading.Thread(target=go) for _ in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    return sorted(statuses)


def test_two_concurrent_redemptions_succeed_once(app, client, smtp_sink, delivered):
    email = "racer@example.com"
    register(client, email)
    verify_token = token_of(delivered(email)[0], "verify-email")
    client.post("/api/auth/forgot-password", json={"email": email})
    (reset_mail,) = [m for m in delivered(email, count=2) if "Reset" in m["Subject"]]
    reset_token = token_of(reset_mail, "reset-password")

    server = ServerThread(app).start()
    try:
        verified = _redeem_concurrently(f"{server.url}/api/auth/verify-email", {"token": verify_token})
        reset = _redeem_concurrently(
            f"{server.url}/api/auth/reset-password", {"token": reset_token, "new_password": NEW_PASSWORD}
        )
    finally:
        server.stop()
    assert verified == [200] + [400] * 7
    assert reset == [204] + [400] * 7


def test_smtp_down_at_registration_then_delivered_when_it_returns(app, client, smtp_sink, delivered):
    smtp_sink.stop()
    try:
        started = time.monotonic()
        register(client, "patient@example.com")
        assert time.monotonic() - started < 5  # the request never waits on SMTP

        deadline = time.monotonic() + 60
        while True:  # the worker has tried, and failed, at least once
            with app.app_context():
                row = db.session.execute(select(AccountMail)).scalar_one()
                db.session.remove()
            if row.attempts >= 1 and row.last_error:
                break
            assert time.monotonic() < deadline, "the worker never tried"
            time.sleep(0.1)
        assert row.sent_at is None and row.token_hash is None
    finally:
        smtp_sink.start()

    (message,) = delivered("patient@example.com", timeout=60)
    token = token_of(message, "verify-email")
    assert client.post("/api/auth/verify-email", json={"token": token}).status_code == 200


def test_no_token_reaches_the_worker_log(mail_worker):
    # Runs last in this module: the worker (INFO level) has sent every message above.
    log = mail_worker.log()
    assert "mail.deliver" in log and SEEN_TOKENS
    assert not [token for token in SEEN_TOKENS if token in log]
