"""Hostile traffic against the throttles: races, victim lockout, unlimited guessing, mass sign-up.

Each test sends what an attacker sent and fails on the hand-written throttle
this replaced (check in one round trip, count in another, lock by email alone,
no limit on current_password or on registration).
"""

from __future__ import annotations

import threading

import pytest
import requests
from sqlalchemy import func, select

from tests.conftest import DEFAULT_PASSWORD, ServerThread


def login(client, email, password, ip="10.0.0.1"):
    return client.post(
        "/api/auth/login", json={"email": email, "password": password}, environ_base={"REMOTE_ADDR": ip}
    )


def assert_rate_limited(resp):
    assert resp.status_code == 429, resp.get_json()
    assert resp.get_json()["error"]["code"] == "rate_limited"
    assert 0 < int(resp.headers["Retry-After"]) <= 900


def count_failures(app, reason):
    from app.accounts.security_models import FailedLogin
    from app.extensions import db

    with app.app_context():
        return db.session.execute(
            select(func.count(FailedLogin.id)).where(FailedLogin.reason == reason)
        ).scalar_one()


@pytest.fixture
def config_overrides():
    # argon2 costly enough that password checks overlap, as they do in production.
    return {"PASSWORD_HASH_TIME_COST": 2, "PASSWORD_HASH_MEMORY_COST": 8192}


def test_25_concurrent_wrong_logins_check_at_most_5_passwords(app, auth):
    """A real threaded HTTP server, 25 threads released at once: only 5 passwords are checked."""
    auth.create_user("target@example.com")
    server = ServerThread(app).start()
    barrier = threading.Barrier(25)
    statuses = []

    def attempt(i):
        barrier.wait()
        resp = requests.post(
            f"{server.url}/api/auth/login",
            timeout=30,
            json={"email": "target@example.com", "password": f"wrong guess {i}"},
        )
        statuses.append(resp.status_code)

    threads = [threading.Thread(target=attempt, args=(i,)) for i in range(25)]
    try:
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=60)
    finally:
        server.stop()
    assert sorted(statuses) == [401] * 5 + [429] * 20
    # Each 401 is one password checked; each 429 was refused before any check.
    assert count_failures(app, "invalid_credentials") == 5
    assert count_failures(app, "rate_limited") == 20


def test_an_attacker_locks_only_their_own_ip_out(auth, client):
    auth.create_user("victim@example.com")
    for _ in range(5):
        assert login(client, "victim@example.com", "wrong password", ip="203.0.113.7").status_code == 401
    # The attacker's IP is locked, even with the right password...
    resp = login(client, "victim@example.com", DEFAULT_PASSWORD, ip="203.0.113.7")
    assert_rate_limited(resp)
    assert resp.get_json()["error"]["details"]["scope"] == "email_ip"
    # ...the victim, from their own IP, is not.
    assert login(client, "victim@example.com", DEFAULT_PASSWORD, ip="198.51.100.2").status_code == 200


def test_refused_attempts_do_not_count_towards_the_per_email_ceiling(auth, client):
    """Hammering from one locked IP must not escalate into a lock of the victim everywhere."""
    auth.create_user("victim@example.com")
    for _ in range(60):
        login(client, "victim@example.com", "wrong password", ip="203.0.113.7")
    assert login(client, "victim@example.com", DEFAULT_PASSWORD, ip="198.51.100.2").status_code == 200


def test_per_email_ceiling_across_ips(app, auth, client):
    """A distributed guess: 10 IPs x 5 failures = 50, then the email is refused from every IP."""
    assert app.config["LOGIN_MAX_FAILURES_PER_EMAIL"] == 50
    auth.create_user("victim@example.com")
    for n in range(10):
        for _ in range(5):
            assert login(client, "victim@example.com", "wrong password", ip=f"192.0.2.{n}").status_code == 401
    resp = login(client, "victim@example.com", DEFAULT_PASSWORD, ip="198.51.100.2")
    assert_rate_limited(resp)
    assert resp.get_json()["error"]["details"]["scope"] == "email"


def test_current_password_cannot_be_guessed_without_limit(auth, client):
    """A stolen access token must not let its holder guess the password: 5 wrong, then 429."""
    user = auth.user(email="owner@example.com")

    def change(current, ip="203.0.113.7"):
        return client.post(
            "/api/users/me/password",
            headers=user.headers,
            environ_base={"REMOTE_ADDR": ip},
            json={"current_password": current, "new_password": "brand new password"},
        )

    for i in range(5):
        resp = change(f"guess number {i}")
        assert resp.status_code == 401 and resp.get_json()["error"]["code"] == "invalid_credentials"
    assert_rate_limited(change(DEFAULT_PASSWORD))  # even the right one
    # The lock is per (user, IP): the owner elsewhere can still change it.
    assert change(DEFAULT_PASSWORD, ip="198.51.100.2").status_code == 204


class TestRegistrationLimit:
    @pytest.fixture
    def config_overrides(self):
        return {"REGISTRATION_RATE_LIMIT": "3/hour"}

    def register(self, client, n, ip="203.0.113.7", password=DEFAULT_PASSWORD):
        return client.post(
            "/api/auth/register",
            environ_base={"REMOTE_ADDR": ip},
            json={"email": f"bot{n}@example.com", "password": password, "full_name": f"Bot {n}"},
        )

    def test_registrations_per_ip_per_hour(self, app, client):
        from app.accounts.models import User
        from app.extensions import db

        assert [self.register(client, n).status_code for n in range(3)] == [201] * 3
        resp = self.register(client, 3)
        assert resp.status_code == 429 and resp.get_json()["error"]["code"] == "rate_limited"
        assert 3000 < int(resp.headers["Retry-After"]) <= 3600
        assert self.register(client, 4, ip="198.51.100.2").status_code == 201
        with app.app_context():
            emails = set(db.session.execute(select(User.email)).scalars())
        assert "bot3@example.com" not in emails and len(emails) == 4

    def test_weak_passwords_do_not_use_the_allowance(self, client):
        for n in range(5):
            assert self.register(client, n, password="password1234").status_code == 422
        assert [self.register(client, n).status_code for n in range(3)] == [201] * 3

    def test_concurrent_registrations_stay_within_the_limit(self, app):
        server = ServerThread(app).start()
        barrier = threading.Barrier(12)
        statuses = []

        def attempt(n):
            barrier.wait()
            statuses.append(
                requests.post(
                    f"{server.url}/api/auth/register",
                    timeout=30,
                    json={"email": f"bot{n}@example.com", "password": DEFAULT_PASSWORD, "full_name": "Bot"},
                ).status_code
            )

        threads = [threading.Thread(target=attempt, args=(n,)) for n in range(12)]
        try:
            for t in threads:
                t.start()
            for t in threads:
                t.join(timeout=60)
        finally:
            server.stop()
        assert sorted(statuses) == [201] * 3 + [429] * 9


def test_registration_limit_setting_is_validated():
    from config import parse_rate

    assert parse_rate(10) == (10, 3600)
    assert parse_rate("10/hour") == (10, 3600)
    assert parse_rate("20 per 2 hours") == (20, 7200)
    assert parse_rate("5/minute") == (5, 60)
    with pytest.raises(RuntimeError, match="unreadable rate"):
        parse_rate("lots")
