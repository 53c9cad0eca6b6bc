"""GET /api/admin/security over the Accounts tables, filled by real logins and edits."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from app.accounts.security_models import FailedLogin
from app.extensions import db


def test_security_dashboard_reflects_failed_logins_locks_and_audit(app, client, auth):
    admin = auth.admin()
    victim = auth.user(email="victim@example.com")
    for _ in range(6):  # 5 failures lock the email; the 6th is refused (429) and logged
        client.post("/api/auth/login", json={"email": victim.email, "password": "wrong password!"})
    client.post(
        "/api/auth/login",
        json={"email": "nobody@example.com", "password": "whatever12345"},
        environ_base={"REMOTE_ADDR": "10.0.0.9"},
    )
    # An old failure: outside the 24 h window.
    db.session.add(
        FailedLogin(email="old@example.com", ip="10.0.0.1", at=datetime.now(UTC) - timedelta(hours=25))
    )
    db.session.commit()
    assert (
        client.patch(f"/api/admin/users/{victim.id}", json={"tier": "pro"}, headers=admin.headers).status_code
        == 200
    )

    resp = client.get("/api/admin/security", headers=admin.headers)
    assert resp.status_code == 200, resp.get_json()
    data = resp.get_json()

    assert data["failed_logins_24h"] == 7
    recent = data["recent_failed_logins"]
    assert len(recent) == 7 and {"email", "ip", "at"} <= set(recent[0])
    assert recent[0]["email"] == "nobody@example.com" and recent[0]["ip"] == "10.0.0.9"
    assert all(r["email"] != "old@example.com" for r in recent)
    assert [a["email"] for a in data["locked_accounts"]] == [victim.email]
    assert datetime.fromisoformat(data["locked_accounts"][0]["locked_until"]) > datetime.now(UTC)
    assert data["top_failure_ips"] == [{"ip": "127.0.0.1", "count": 6}, {"ip": "10.0.0.9", "count": 1}]

    entry = next(e for e in data["audit_log"] if e["target_id"] == victim.id)
    assert entry["actor_id"] == admin.id and entry["ip"] == "127.0.0.1"
    assert entry["before"]["tier"] == "starter" and entry["after"]["tier"] == "pro"
    assert "password" not in resp.get_data(as_text=True)


def test_admins_only(client, auth):
    assert client.get("/api/admin/security").status_code == 401
    resp = client.get("/api/admin/security", headers=auth.user().headers)
    assert resp.status_code == 403 and resp.get_json()["error"]["code"] == "forbidden"
