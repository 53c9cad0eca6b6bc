"""`flask users ...` commands (through the same service, cache invalidated)."""

from __future__ import annotations

from sqlalchemy import select


def test_create_admin_with_password_then_login(runner, auth, client):
    result = runner.invoke(
        args=["users", "create-admin", "Root@Example.com", "--password", "root password 1"]
    )
    assert result.exit_code == 0, result.output
    assert "Created admin: root@example.com" in result.output
    tokens = auth.login("root@example.com", "root password 1")
    me = client.get("/api/users/me", headers=auth.headers(tokens["access_token"])).get_json()
    assert me["is_admin"] is True


def test_create_admin_prompts_hidden_with_confirmation(runner, auth):
    result = runner.invoke(
        args=["users", "create-admin", "p@example.com"], input="prompted password\nprompted password\n"
    )
    assert result.exit_code == 0, result.output
    assert "prompted password" not in result.output  # hidden
    auth.login("p@example.com", "prompted password")


def test_create_admin_promotes_an_existing_user(runner, auth, client):
    u = auth.user("exists@example.com")
    client.get("/api/users/me", headers=u.headers)  # warm cache
    result = runner.invoke(
        args=["users", "create-admin", "exists@example.com", "--password", "new admin pass"]
    )
    assert result.exit_code == 0 and "Promoted" in result.output
    # the password changed, so the old session is gone; the new password works
    assert client.get("/api/users/me", headers=u.headers).status_code == 401
    tokens = auth.login("exists@example.com", "new admin pass")
    assert client.get("/api/users/me", headers=auth.headers(tokens["access_token"])).get_json()["is_admin"]


def test_cli_errors_exit_non_zero_with_a_message(runner, auth):
    auth.create_user("someone@example.com")
    cases = [
        (["users", "create-admin", "bad-email", "--password", "long enough pw"], "email"),
        (["users", "create-admin", "a@example.com", "--password", "short"], "Password"),
        (["users", "set-tier", "nobody@example.com", "pro"], "No user"),
        (["users", "set-tier", "someone@example.com", "gold"], "Unknown tier"),
        (["users", "deactivate", "nobody@example.com"], "No user"),
        (["users", "unlock", "nobody@example.com"], "No user"),
        (["users", "show", "nobody@example.com"], "No user"),
        (["users", "create", "new@example.com", "--password", "short"], "Password"),
        (["users", "create", "someone@example.com", "--password", "a long unguessable pw 42"], "already"),
    ]
    for args, message in cases:
        result = runner.invoke(args=args)
        assert result.exit_code != 0, args
        assert message in result.output, (args, result.output)


def test_list_set_tier_deactivate(runner, auth, app):
    auth.create_user("one@example.com")
    auth.create_user("two@example.com", is_admin=True)
    out = runner.invoke(args=["users", "list"]).output
    assert "one@example.com" in out and "two@example.com" in out and "2 user(s)" in out
    assert runner.invoke(args=["users", "set-tier", "ONE@example.com", "pro"]).exit_code == 0
    assert runner.invoke(args=["users", "deactivate", "one@example.com"]).exit_code == 0
    out = runner.invoke(args=["users", "list"]).output
    line = next(row for row in out.splitlines() if "one@example.com" in row)
    assert "pro" in line and " no " in line

    from app.accounts.security_models import AuditLog
    from app.extensions import db

    with app.app_context():
        actions = db.session.execute(select(AuditLog.action, AuditLog.actor_id)).all()
    assert ("user.set_tier", None) in actions and ("user.deactivate", None) in actions
