"""What operators see and do about lockouts: the dashboard's (email, IP) rows, `users unlock`,
`users create`, the 90-day prune of failed logins, and throttling while Redis is down."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

import requests
from sqlalchemy import func, select

from tests.conftest import DEFAULT_PASSWORD, ServerThread, free_port
from workers.schedule import BEAT_SCHEDULE


def login(client, email, password, ip):
    return client.post(
        "/api/auth/login", json={"email": email, "password": password}, environ_base={"REMOTE_ADDR": ip}
    )


def lock(client, email, ip):
    for _ in range(5):
        assert login(client, email, "wrong password", ip).status_code == 401
    assert login(client, email, DEFAULT_PASSWORD, ip).status_code == 429


def test_dashboard_lists_each_locked_email_and_ip(client, auth):
    admin = auth.admin()
    auth.create_user("victim@example.com")
    lock(client, "victim@example.com", "203.0.113.7")
    lock(client, "victim@example.com", "203.0.113.8")
    data = client.get("/api/admin/security", headers=admin.headers).get_json()
    rows = data["locked_accounts"]
    assert sorted((r["email"], r["ip"]) for r in rows) == [
        ("victim@example.com", "203.0.113.7"),
        ("victim@example.com", "203.0.113.8"),
    ]
    assert all(datetime.fromisoformat(r["locked_until"]) > datetime.now(UTC) for r in rows)


def test_unlock_lifts_every_lockout_of_the_email(app, client, auth, runner):
    user = auth.user(email="victim@example.com")
    lock(client, "victim@example.com", "203.0.113.7")
    lock(client, "victim@example.com", "203.0.113.8")
    for i in range(5):  # and the current-password lock
        client.post(
            "/api/users/me/password",
            headers=user.headers,
            environ_base={"REMOTE_ADDR": "203.0.113.7"},
            json={"current_password": f"guess {i}", "new_password": "brand new password"},
        )
    auth.create_user("bystander@example.com")
    lock(client, "bystander@example.com", "203.0.113.7")

    result = runner.invoke(args=["users", "unlock", "Victim@Example.com"])
    assert result.exit_code == 0, result.output
    assert "victim@example.com: unlocked (2 lock(s) lifted)" in result.output

    for ip in ("203.0.113.7", "203.0.113.8"):
        assert login(client, "victim@example.com", DEFAULT_PASSWORD, ip).status_code == 200
    assert (
        client.post(
            "/api/users/me/password",
            headers=user.headers,
            environ_base={"REMOTE_ADDR": "203.0.113.7"},
            json={"current_password": DEFAULT_PASSWORD, "new_password": "brand new password"},
        ).status_code
        == 204
    )
    # Only that email: the bystander stays locked, on the dashboard too.
    assert login(client, "bystander@example.com", DEFAULT_PASSWORD, "203.0.113.7").status_code == 429
    with app.app_context():
        from app.accounts.login_throttle import locked_accounts

        assert [(r["email"], r["ip"]) for r in locked_accounts()] == [
            ("bystander@example.com", "203.0.113.7")
        ]


def test_unlock_of_an_unknown_email_fails_clearly(runner):
    result = runner.invoke(args=["users", "unlock", "nobody@example.com"])
    assert result.exit_code != 0
    assert "No user with email 'nobody@example.com'" in result.output


def test_users_create_makes_a_plain_user(runner, client):
    result = runner.invoke(
        args=[
            "users",
            "create",
            "Plain@Example.com",
            "--password",
            DEFAULT_PASSWORD,
            "--tier",
            "pro",
            "--full-name",
            "Plain User",
        ]
    )
    assert result.exit_code == 0, result.output
    assert "Created user: plain@example.com" in result.output and "tier pro" in result.output
    tokens = login(client, "plain@example.com", DEFAULT_PASSWORD, "10.0.0.1").get_json()
    me = client.get("/api/users/me", headers={"Authorization": f"Bearer {tokens['access_token']}"})
    assert me.get_json()["tier"] == "pro" and me.get_json()["is_admin"] is False
    again = runner.invoke(args=["users", "create", "plain@example.com", "--password", DEFAULT_PASSWORD])
    assert again.exit_code != 0 and "already registered" in again.output
    bad_tier = runner.invoke(
        args=["users", "create", "x@example.com", "--password", DEFAULT_PASSWORD, "--tier", "gold"]
    )
    assert bad_tier.exit_code != 0


def test_failed_logins_older_than_90_days_are_pruned_daily(app):
    from app.accounts.security_models import FailedLogin, LoginLock
    from app.extensions import db
    from workers import tasks

    now = datetime.now(UTC)
    with app.app_context():
        db.session.add_all(
            [
                FailedLogin(email="old@example.com", ip="10.0.0.1", at=now - timedelta(days=91)),
                FailedLogin(email="recent@example.com", ip="10.0.0.1", at=now - timedelta(days=89)),
                LoginLock(
                    email="old@example.com",
                    ip="10.0.0.1",
                    at=now - timedelta(days=91),
                    locked_until=now - timedelta(days=91) + timedelta(minutes=15),
                ),
            ]
        )
        db.session.commit()
    assert tasks.prune_failed_logins.apply().get() == 2  # the task pushes its own app context
    with app.app_context():
        emails = db.session.execute(select(FailedLogin.email)).scalars().all()
        assert emails == ["recent@example.com"]
        assert db.session.execute(select(func.count(LoginLock.id))).scalar_one() == 0
    beat = BEAT_SCHEDULE["prune-failed-logins"]
    assert beat == {"task": "accounts.prune_failed_logins", "schedule": 86400.0}


def test_throttling_stays_atomic_in_process_memory_when_redis_is_down(base_config, auth):
    """Redis unreachable: 25 concurrent guesses still check at most 5 passwords."""
    from app import create_app
    from app.accounts.security_models import FailedLogin
    from app.extensions import db

    dead = create_app(
        {
            **base_config,
            "REDIS_URL": f"redis://127.0.0.1:{free_port()}/0",
            "PASSWORD_HASH_TIME_COST": 2,
            "PASSWORD_HASH_MEMORY_COST": 8192,
        }
    )
    auth.create_user("target@example.com")
    server = ServerThread(dead).start()
    barrier = threading.Barrier(25)
    statuses = []

    def attempt(i):
        barrier.wait()
        statuses.append(
            requests.post(
                f"{server.url}/api/auth/login",
                timeout=30,
                json={"email": "target@example.com", "password": f"wrong guess {i}"},
            ).status_code
        )

    threads = [threading.Thread(target=attempt, args=(i,)) for i in range(25)]
    try:
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=60)
    finally:
        server.stop()
    assert sorted(statuses) == [401] * 5 + [429] * 20
    with dead.app_context():
        checked = db.session.execute(
            select(func.count(FailedLogin.id)).where(FailedLogin.reason == "invalid_credentials")
        ).scalar_one()
        db.engine.dispose()
    assert checked == 5
