"""Account-mail rules that need no worker: throttles, no enumeration, stale tokens, Redis down.

Messages are queued in ``account_mails``; where a test needs a real token it
runs the delivery itself (``mail_outbox.deliver``) against the real SMTP server.
"""

from __future__ import annotations

import statistics
import time
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from app.accounts import mail_outbox
from app.accounts.mail_models import RESET, VERIFY, AccountMail
from app.extensions import db
from tests.conftest import free_port
from tests.mail.helpers import register, token_of

ACCEPTED = {"message": "If the address has an account, a password reset link is on its way."}


def _queued(app, purpose=None) -> int:
    with app.app_context():
        query = select(func.count(AccountMail.id))
        if purpose:
            query = query.where(AccountMail.purpose == purpose)
        n = db.session.execute(query).scalar_one()
        db.session.remove()
        return n


def _deliver_all(app) -> None:
    with app.app_context():
        for mail_id in db.session.execute(
            select(AccountMail.id).where(AccountMail.sent_at.is_(None))
        ).scalars():
            mail_outbox.deliver(mail_id)
        db.session.remove()


def test_registration_queues_one_verification_mail(app, client):
    register(client, "queued@example.com")
    with app.app_context():
        row = db.session.execute(select(AccountMail)).scalar_one()
        assert (row.purpose, row.email, row.sent_at, row.token_hash) == (
            VERIFY,
            "queued@example.com",
            None,
            None,
        )
        assert row.enqueued_at is not None  # the task reached the broker


def test_resend_verification_three_an_hour_then_429(app, client, auth):
    user = auth.user("resender@example.com")
    for _ in range(3):
        assert client.post("/api/auth/resend-verification", headers=user.headers).status_code == 202
    refused = client.post("/api/auth/resend-verification", headers=user.headers)
    assert refused.status_code == 429
    assert refused.get_json()["error"]["code"] == "rate_limited"
    assert 0 < int(refused.headers["Retry-After"]) <= 3600
    assert _queued(app, VERIFY) == 3
    assert client.post("/api/auth/resend-verification").status_code == 401


def test_resend_for_a_verified_address_sends_nothing(app, client, auth, smtp_sink):
    register(client, "done@example.com")
    _deliver_all(app)
    token = token_of(smtp_sink.wait_for("done@example.com")[0], "verify-email")
    assert client.post("/api/auth/verify-email", json={"token": token}).status_code == 200
    login = auth.login("done@example.com")
    resp = client.post("/api/auth/resend-verification", headers=auth.headers(login["access_token"]))
    assert resp.status_code == 202
    assert _queued(app, VERIFY) == 1


def test_forgot_password_three_mails_per_email_an_hour_then_silence(app, client, auth):
    auth.create_user("limited@example.com")
    for _ in range(5):
        resp = client.post("/api/auth/forgot-password", json={"email": "limited@example.com"})
        assert resp.status_code == 202 and resp.get_json() == ACCEPTED
    assert _queued(app, RESET) == 3


@pytest.mark.parametrize("config_overrides", [{"PASSWORD_RESET_IP_LIMIT": "4/hour"}], indirect=True)
def test_forgot_password_is_throttled_per_ip(app, client, config_overrides):
    for n in range(4):
        assert (
            client.post("/api/auth/forgot-password", json={"email": f"x{n}@example.com"}).status_code == 202
        )
    refused = client.post("/api/auth/forgot-password", json={"email": "x9@example.com"})
    assert refused.status_code == 429 and refused.get_json()["error"]["details"]["scope"] == "ip"
    assert "Retry-After" in refused.headers
    assert _queued(app, RESET) == 4


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"email": "not-an-email"},
        {"email": "a@example.com", "extra": 1},
        {"email": "x" * 300 + "@example.com"},
    ],
)
def test_forgot_password_bad_bodies_are_422_and_queue_nothing(app, client, body):
    resp = client.post("/api/auth/forgot-password", json=body)
    assert resp.status_code == 422 and resp.get_json()["error"]["code"] == "validation_error"
    assert _queued(app) == 0


@pytest.mark.parametrize("config_overrides", [{"PASSWORD_RESET_IP_LIMIT": "1000/hour"}], indirect=True)
def test_forgot_password_takes_about_the_same_time_for_known_and_unknown(app, client, auth, config_overrides):
    known = [auth.create_user(f"known{n}@example.com") and f"known{n}@example.com" for n in range(12)]
    unknown = [f"unknown{n}@example.com" for n in range(12)]

    def timed(email):
        started = time.perf_counter()
        resp = client.post("/api/auth/forgot-password", json={"email": email})
        assert resp.status_code == 202 and resp.get_json() == ACCEPTED
        return time.perf_counter() - started

    known_times, unknown_times = [], []
    for k, u in zip(known, unknown, strict=True):  # interleaved: the box's load hits both alike
        known_times.append(timed(k))
        unknown_times.append(timed(u))
    k_med, u_med = statistics.median(known_times), statistics.median(unknown_times)
    # Same work either way (the worker looks the address up): generous bound for a busy box.
    assert abs(k_med - u_med) <= max(0.02, 0.5 * max(k_med, u_med)), (k_med, u_med)
    assert _queued(app, RESET) == 24  # unknown addresses are queued too: same work, same time


def test_reset_token_dies_with_a_password_change_made_after_it_was_sent(app, client, auth, smtp_sink):
    user = auth.user("changer@example.com")
    client.post("/api/auth/forgot-password", json={"email": user.email})
    _deliver_all(app)
    token = token_of(smtp_sink.wait_for(user.email)[-1], "reset-password")
    changed = client.post(
        "/api/users/me/password",
        json={"current_password": user.password, "new_password": "brand new horse 9001"},
        headers=user.headers,
    )
    assert changed.status_code == 204
    resp = client.post(
        "/api/auth/reset-password", json={"token": token, "new_password": "another horse 31337"}
    )
    assert resp.status_code == 400 and resp.get_json()["error"]["code"] == "invalid_token"


def test_a_verification_link_for_an_old_address_does_not_verify_the_new_one(app, client, auth, smtp_sink):
    register(client, "before@example.com")
    _deliver_all(app)
    token = token_of(smtp_sink.wait_for("before@example.com")[-1], "verify-email")
    login = auth.login("before@example.com")
    headers = auth.headers(login["access_token"])
    assert (
        client.patch("/api/users/me", json={"email": "after@example.com"}, headers=headers).status_code == 200
    )
    resp = client.post("/api/auth/verify-email", json={"token": token})
    assert resp.status_code == 400
    assert client.get("/api/users/me", headers=headers).get_json()["is_verified"] is False


@pytest.mark.parametrize(
    "body",
    [{"token": "t" * 513}, {"token": ""}, {"token": 5}, {}, {"token": "x", "new_password": "short"}],
)
def test_reset_password_bad_bodies_are_422(client, body):
    body = {"new_password": "a perfectly fine horse 1", **body}
    resp = client.post("/api/auth/reset-password", json=body)
    assert resp.status_code == 422


def test_registration_answers_201_with_redis_down_and_the_sweep_queues_the_mail(
    _schema, base_config, mail_settings
):
    from app import create_app

    down = create_app({**base_config, **mail_settings, "REDIS_URL": f"redis://127.0.0.1:{free_port()}/0"})
    started = time.monotonic()
    resp = down.test_client().post(
        "/api/auth/register",
        json={"email": "offline@example.com", "password": "correct horse battery", "full_name": "Off Line"},
    )
    assert resp.status_code == 201 and time.monotonic() - started < 5
    with down.app_context():
        row = db.session.execute(select(AccountMail)).scalar_one()
        assert row.enqueued_at is None  # never reached the broker
        db.session.remove()

    up = create_app({**base_config, **mail_settings})
    try:
        with up.app_context():
            assert mail_outbox.sweep(now=row.created_at + mail_outbox.PUBLISH_GRACE * 2) == 1
            assert db.session.get(AccountMail, row.id).enqueued_at is not None
    finally:
        from tests.conftest import _reset_state

        _reset_state(up)


def test_prune_drops_rows_older_than_thirty_days(app, client):
    register(client, "old@example.com")
    register(client, "new@example.com")
    with app.app_context():
        old = db.session.execute(
            select(AccountMail).where(AccountMail.email == "old@example.com")
        ).scalar_one()
        old.created_at = old.created_at - timedelta(days=31)
        db.session.commit()
        assert mail_outbox.prune() == 1
        assert [r.email for r in db.session.execute(select(AccountMail)).scalars()] == ["new@example.com"]


def test_a_changed_email_gets_a_verification_mail_within_the_resend_limit(app, client, auth):
    user = auth.user("mover@example.com")
    for n in range(5):
        resp = client.patch("/api/users/me", json={"email": f"moved{n}@example.com"}, headers=user.headers)
        assert resp.status_code == 200 and resp.get_json()["is_verified"] is False
    assert (
        client.patch("/api/users/me", json={"full_name": "Same Address"}, headers=user.headers).status_code
        == 200
    )
    with app.app_context():
        sent_to = [
            r.email for r in db.session.execute(select(AccountMail).order_by(AccountMail.id)).scalars()
        ]
    assert sent_to == ["moved0@example.com", "moved1@example.com", "moved2@example.com"]
