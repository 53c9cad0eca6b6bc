"""Login throttling: per (email, IP) (5 / 15 min) and per IP (30 / 15 min)."""

from __future__ import annotations

from sqlalchemy import func, select

from tests.conftest import DEFAULT_PASSWORD


def login(client, email, password, ip="10.0.0.1"):
    return client.post(
        "/api/auth/login", json={"email": email, "password": password}, environ_base={"REMOTE_ADDR": ip}
    )


def test_five_failures_lock_the_email_even_for_the_right_password(auth, client, app):
    auth.create_user("frank@example.com")
    for _ in range(5):
        assert login(client, "frank@example.com", "wrong password").status_code == 401
    resp = login(client, "frank@example.com", DEFAULT_PASSWORD)
    assert resp.status_code == 429
    assert resp.get_json()["error"]["code"] == "rate_limited"
    assert 0 < int(resp.headers["Retry-After"]) <= 900
    # Another email from the same IP is not locked.
    auth.create_user("grace@example.com")
    assert login(client, "grace@example.com", DEFAULT_PASSWORD).status_code == 200

    from app.accounts.login_throttle import failed_login_stats, locked_accounts
    from app.accounts.security_models import FailedLogin
    from app.extensions import db

    with app.app_context():
        reasons = db.session.execute(select(FailedLogin.reason)).scalars().all()
        assert sorted(reasons) == ["invalid_credentials"] * 5 + ["rate_limited"]
        locked = locked_accounts()
        assert [x["email"] for x in locked] == ["frank@example.com"]
        stats = failed_login_stats(since=db.session.execute(select(func.min(FailedLogin.at))).scalar_one())
        assert stats["count"] == 6 and stats["top_ips"] == [{"ip": "10.0.0.1", "count": 6}]


def test_success_before_the_limit_resets_the_email_counter(auth, client):
    auth.create_user("heidi@example.com")
    for _ in range(4):
        login(client, "heidi@example.com", "wrong password")
    assert login(client, "heidi@example.com", DEFAULT_PASSWORD).status_code == 200
    for _ in range(4):
        assert login(client, "heidi@example.com", "wrong password").status_code == 401
    assert login(client, "heidi@example.com", DEFAULT_PASSWORD).status_code == 200


def test_unknown_emails_are_throttled_too(client):
    for _ in range(5):
        assert login(client, "ghost@example.com", "wrong password").status_code == 401
    assert login(client, "ghost@example.com", "wrong password").status_code == 429


def test_per_ip_limit(auth, client):
    auth.create_user("ivan@example.com")
    for i in range(30):  # 30 different emails, 1 failure each, one IP
        assert login(client, f"spray{i}@example.com", "wrong password", ip="10.9.9.9").status_code == 401
    resp = login(client, "ivan@example.com", DEFAULT_PASSWORD, ip="10.9.9.9")
    assert resp.status_code == 429 and "Retry-After" in resp.headers
    assert resp.get_json()["error"]["details"]["scope"] == "ip"
    assert login(client, "ivan@example.com", DEFAULT_PASSWORD, ip="10.1.1.1").status_code == 200
