"""The pages the mail links open: served by Alpine, and opening one changes nothing."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from app.accounts import mail_outbox
from app.accounts.mail_models import AccountMail
from app.extensions import db
from tests.mail.helpers import register, token_of


@pytest.mark.parametrize("path", ["/verify-email", "/reset-password"])
def test_link_pages_are_html_with_their_own_strict_csp(client, path):
    resp = client.get(f"{path}?token=abc")
    assert resp.status_code == 200 and resp.mimetype == "text/html"
    assert "script-src 'self'" in resp.headers["Content-Security-Policy"]
    assert resp.headers["Cache-Control"] == "no-store"
    assert resp.headers["Referrer-Policy"] == "no-referrer"  # the token stays out of other sites' logs
    script = client.get("/account-pages/static/account_pages.js")
    assert script.status_code == 200 and b"fetch(" in script.data


def test_opening_the_link_does_not_use_the_token(app, client, smtp_sink):
    register(client, "prefetch@example.com")
    with app.app_context():
        mail_outbox.deliver(db.session.execute(select(AccountMail.id)).scalar_one())
    token = token_of(smtp_sink.wait_for("prefetch@example.com")[-1], "verify-email")
    assert client.get(f"/verify-email?token={token}").status_code == 200  # a mail scanner's prefetch
    assert client.post("/api/auth/verify-email", json={"token": token}).status_code == 200
