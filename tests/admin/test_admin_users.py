"""GET /api/admin/users, PATCH /api/admin/users/<id>, the admin guard, the audit log."""

from __future__ import annotations

from sqlalchemy import select


def err(resp):
    return resp.get_json()["error"]["code"]


def test_non_admins_get_403_before_any_validation(client, logged_in_user):
    h = logged_in_user.headers
    for method, url, kwargs in [
        ("get", "/api/admin/users", {}),
        ("get", "/api/admin/users?per_page=1000", {}),  # invalid, but 403 first
        ("patch", f"/api/admin/users/{logged_in_user.id}", {"json": {"is_admin": True}}),
        ("patch", "/api/admin/users/1", {"json": {"bogus": 1}}),
        ("patch", "/api/admin/users/1", {"data": "not json", "content_type": "text/plain"}),
    ]:
        resp = getattr(client, method)(url, headers=h, **kwargs)
        assert resp.status_code == 403 and err(resp) == "forbidden", (method, url)
    assert err(client.get("/api/admin/users")) == "token_missing"
    assert client.get("/api/users/me", headers=h).get_json()["is_admin"] is False


def test_list_paging_filter_and_search(auth, client, logged_in_admin):
    h = logged_in_admin.headers
    auth.create_user("zoe@example.com", full_name="Zoe Pro", tier="pro")
    auth.create_user("yan@example.com", full_name="Yan 100% Elite_", tier="elite")
    auth.create_user("xavier@sample.org", full_name="Xavier", tier="pro")
    body = client.get("/api/admin/users", headers=h).get_json()
    assert body["total"] == 4 and body["page"] == 1 and body["per_page"] == 20
    assert [u["id"] for u in body["items"]] == sorted(u["id"] for u in body["items"])
    assert "password_hash" not in str(body)

    page2 = client.get("/api/admin/users?page=2&per_page=3", headers=h).get_json()
    assert len(page2["items"]) == 1 and page2["total"] == 4
    past = client.get("/api/admin/users?page=9&per_page=3", headers=h).get_json()
    assert past["items"] == [] and past["total"] == 4

    pro = client.get("/api/admin/users?tier=pro", headers=h).get_json()
    assert sorted(u["email"] for u in pro["items"]) == ["xavier@sample.org", "zoe@example.com"]
    assert client.get("/api/admin/users?tier=&q=", headers=h).get_json()["total"] == 4

    def q(text):
        return sorted(
            u["email"]
            for u in client.get("/api/admin/users", query_string={"q": text}, headers=h).get_json()["items"]
        )

    assert q("SAMPLE") == ["xavier@sample.org"]
    assert q("zoe p") == ["zoe@example.com"]
    assert q("%") == ["yan@example.com"]  # a literal %, not "anything"
    assert q("_") == ["yan@example.com"]  # a literal _, not "any character"
    assert q("elite_") == ["yan@example.com"]
    assert q("nothing-matches") == []


def test_list_validation(client, logged_in_admin):
    h = logged_in_admin.headers
    for qs in ("page=0", "per_page=0", "per_page=101", "page=x", "tier=gold"):
        resp = client.get(f"/api/admin/users?{qs}", headers=h)
        assert resp.status_code == 422 and err(resp) == "validation_error", qs
        assert "query" in resp.get_json()["error"]["details"]
    assert client.get("/api/admin/users?per_page=100", headers=h).status_code == 200


def test_patch_changes_tier_activity_admin_and_audits(auth, client, app, logged_in_admin):
    target = auth.user(tier="starter")
    assert client.get("/api/users/me", headers=target.headers).status_code == 200  # warm cache
    resp = client.patch(
        f"/api/admin/users/{target.id}",
        headers=logged_in_admin.headers,
        json={"tier": "pro", "is_admin": True},
    )
    assert resp.status_code == 200
    assert resp.get_json()["tier"] == "pro" and resp.get_json()["is_admin"] is True
    me = client.get("/api/users/me", headers=target.headers).get_json()
    assert me["tier"] == "pro" and me["is_admin"] is True
    assert client.get("/api/admin/users", headers=target.headers).status_code == 200  # now admin

    resp = client.patch(
        f"/api/admin/users/{target.id}",
        headers=logged_in_admin.headers,
        json={"is_active": False},
        environ_base={"REMOTE_ADDR": "10.2.3.4"},
    )
    assert resp.status_code == 200 and resp.get_json()["is_active"] is False
    assert err(client.get("/api/users/me", headers=target.headers)) == "inactive_user"

    from app.accounts.security_models import AuditLog
    from app.extensions import db

    with app.app_context():
        rows = db.session.execute(select(AuditLog).order_by(AuditLog.id)).scalars().all()
        assert [(r.actor_id, r.action, r.target_id, r.before, r.after) for r in rows] == [
            (
                logged_in_admin.id,
                "user.update",
                target.id,
                {"tier": "starter", "is_admin": False},
                {"tier": "pro", "is_admin": True},
            ),
            (logged_in_admin.id, "user.update", target.id, {"is_active": True}, {"is_active": False}),
        ]
        assert rows[1].ip == "10.2.3.4" and rows[1].at is not None


def test_patch_errors(auth, client, logged_in_admin):
    h = logged_in_admin.headers
    target = auth.create_user()
    resp = client.patch("/api/admin/users/99999", headers=h, json={"tier": "pro"})
    assert resp.status_code == 404 and err(resp) == "not_found"
    for body in ({"tier": "gold"}, {"is_active": "yes"}, {"email": "x@example.com"}):
        resp = client.patch(f"/api/admin/users/{target}", headers=h, json=body)
        assert resp.status_code == 422, body
    resp = client.patch(f"/api/admin/users/{target}", headers=h, data="x", content_type="text/plain")
    assert resp.status_code == 400 and err(resp) == "invalid_json"


def test_admin_cannot_deactivate_or_demote_themself(client, app, logged_in_admin):
    h = logged_in_admin.headers
    for body in ({"is_active": False}, {"is_admin": False}):
        resp = client.patch(f"/api/admin/users/{logged_in_admin.id}", headers=h, json=body)
        assert resp.status_code == 403 and err(resp) == "forbidden"
    resp = client.patch(f"/api/admin/users/{logged_in_admin.id}", headers=h, json={"tier": "elite"})
    assert resp.status_code == 200 and resp.get_json()["is_admin"] is True
