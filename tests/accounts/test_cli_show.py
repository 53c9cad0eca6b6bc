"""`flask users show EMAIL`, and the CLI's contract: --help on every command, non-zero exits."""

from __future__ import annotations

import click

from app.accounts.models import User
from app.extensions import db
from tests.conftest import DEFAULT_PASSWORD


def fields(output: str) -> dict[str, str]:
    return {
        k.strip(): v.strip() for k, v in (line.split(":", 1) for line in output.splitlines() if ":" in line)
    }


def test_show_a_user_after_logins_failures_and_keys(app, runner, auth, client):
    from app.keys import service as keys

    uid = auth.create_user("Bob@Example.com", tier="pro", full_name="Bob")
    shown = fields(runner.invoke(args=["users", "show", "bob@example.com"]).output)
    assert shown["tier"] == "pro" and shown["active"] == "yes" and shown["admin"] == "no"
    assert shown["locked"] == "no" and shown["last login"].startswith("never")
    assert shown["API keys"] == "0 active, 0 revoked"

    auth.login("bob@example.com")
    with app.app_context():
        stamped = db.session.get(User, uid).last_login_at
        kept, _ = keys.create_key(uid, "bot", None)
        gone, _ = keys.create_key(uid, "old bot", None)
        keys.revoke_key(uid, gone.id)
    assert stamped is not None
    for _ in range(5):  # the (email, IP) pair's limit: locked
        client.post("/api/auth/login", json={"email": "bob@example.com", "password": "wrong password!"})

    result = runner.invoke(args=["users", "show", "  BOB@example.com "])
    assert result.exit_code == 0, result.output
    shown = fields(result.output)
    assert shown["last login"] == stamped.isoformat()
    assert shown["locked"].startswith("yes: 127.0.0.1 until")
    assert shown["API keys"] == "1 active, 1 revoked"
    # Nothing secret is printed.
    with app.app_context():
        user = db.session.get(User, uid)
        assert user.password_hash not in result.output
    assert "$argon2" not in result.output and DEFAULT_PASSWORD not in result.output

    runner.invoke(args=["users", "unlock", "bob@example.com"])
    assert fields(runner.invoke(args=["users", "show", "bob@example.com"]).output)["locked"] == "no"


def test_a_login_stamp_leaves_the_cached_user_and_updated_at_alone(app, auth, client):
    user = auth.user(email="carol@example.com")
    with app.app_context():
        before = db.session.get(User, user.id).updated_at
    auth.login("carol@example.com")
    with app.app_context():
        after = db.session.get(User, user.id)
        assert after.updated_at == before and after.last_login_at is not None
    me = client.get("/api/users/me", headers=user.headers).get_json()
    assert "last_login_at" not in me  # not a public field


def test_show_refuses_bad_input_with_a_non_zero_exit(runner, auth):
    auth.create_user("someone@example.com")
    for args, message in [
        (["users", "show", "nobody@example.com"], "No user"),
        (["users", "show", "not an email"], "No user"),
        (["users", "show", "x" * 5000 + "@example.com"], "No user"),
        (["users", "show"], "Missing argument"),
        (["users", "unlock", "nobody@example.com"], "No user"),
        (["users", "create", "a@example.com", "--password", "x"], "Password"),
        (["users", "create", "b@example.com", "--password", "long enough pw 1", "--tier", "gold"], "gold"),
    ]:
        result = runner.invoke(args=args)
        assert result.exit_code not in (0, None), (args, result.output)
        assert message in result.output, (args, result.output)
        assert "Traceback" not in result.output


def test_every_command_has_help_text(app, runner):
    commands = []

    def walk(group: click.Group, path: list[str]) -> None:
        for name, command in group.commands.items():
            if isinstance(command, click.Group):
                walk(command, [*path, name])
            else:
                commands.append(([*path, name], command))

    for name in ("users", "signals", "metrics"):
        walk(app.cli.commands[name], [name])
    for extra in app.cli.commands.values():  # every other group an app package registers
        if isinstance(extra, click.Group) and extra.name not in ("users", "signals", "metrics"):
            walk(extra, [extra.name])
    assert ["users", "show"] in [path for path, _ in commands]
    for path, command in commands:
        assert (command.help or "").strip(), f"flask {' '.join(path)} has no help text"
        result = runner.invoke(args=[*path, "--help"])
        assert result.exit_code == 0 and command.help.strip().split("\n")[0][:30] in result.output, path
