"""Guessable passwords are refused (zxcvbn score >= 3, email and name as user inputs),
with a 422 on the field that says why, everywhere a password is set."""

from __future__ import annotations

from sqlalchemy import func, select

from tests.conftest import DEFAULT_PASSWORD


def field_errors(resp, field):
    assert resp.status_code == 422, resp.get_json()
    error = resp.get_json()["error"]
    assert error["code"] == "validation_error"
    return error["details"]["json"][field]


def test_register_refuses_a_common_password_and_says_why(app, client):
    from app.accounts.models import User
    from app.extensions import db

    resp = client.post(
        "/api/auth/register", json={"email": "a@example.com", "password": "password1234", "full_name": "Ann"}
    )
    (message,) = field_errors(resp, "password")
    assert "very common password" in message and "Add another word" in message
    with app.app_context():
        assert db.session.execute(select(func.count(User.id))).scalar_one() == 0


def test_register_refuses_a_password_made_of_the_email_and_name(client):
    password = "quixotic.zanzibar"  # strong on its own, guessable for this person
    ok = client.post(
        "/api/auth/register",
        json={"email": "someone@example.com", "password": password, "full_name": "Someone Else"},
    )
    assert ok.status_code == 201
    resp = client.post(
        "/api/auth/register",
        json={
            "email": "quixotic.zanzibar@example.com",
            "password": password,
            "full_name": "Quixotic Zanzibar",
        },
    )
    assert field_errors(resp, "password")


def test_password_change_refuses_a_weak_new_password(auth, client):
    user = auth.user()
    resp = client.post(
        "/api/users/me/password",
        headers=user.headers,
        json={"current_password": DEFAULT_PASSWORD, "new_password": "qwertyuiop"},
    )
    (message,) = field_errors(resp, "new_password")
    assert "common password" in message
    # Unchanged: the old password still logs in.
    auth.login(user.email, DEFAULT_PASSWORD)


def test_cli_refuses_weak_passwords(runner):
    for args in (
        ["users", "create-admin", "root@example.com", "--password", "administrator"],
        ["users", "create", "plain@example.com", "--password", "aaaaaaaaaaaa"],
    ):
        result = runner.invoke(args=args)
        assert result.exit_code != 0, args
        assert "too easy to guess" in result.output, result.output
