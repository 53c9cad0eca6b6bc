"""Domain errors raised by services reach the client through one handler, as the envelope."""

from __future__ import annotations

from app.accounts import users as user_service
from app.core.errors import DomainError
from tests.test_errors import assert_envelope


class QuotaGone(DomainError):
    status, code = 409, "limit_reached"

    def details(self) -> dict:
        return {"limit": 10}

    def headers(self) -> dict:
        return {"X-Limit": "10"}


def test_any_domain_error_is_answered_with_its_status_code_details_and_headers(base_config, _schema):
    from app import create_app

    app = create_app(base_config)

    @app.get("/test/domain")
    def raises():
        raise QuotaGone("At most 10.")

    @app.get("/test/throttled")
    def throttled():
        raise user_service.Throttled("Slow down.", 42, "ip")

    client = app.test_client()
    err = assert_envelope(client.get("/test/domain"), 409, "limit_reached")
    assert err == {"code": "limit_reached", "message": "At most 10.", "details": {"limit": 10}}
    assert client.get("/test/domain").headers["X-Limit"] == "10"
    resp = client.get("/test/throttled")
    assert assert_envelope(resp, 429, "rate_limited")["details"] == {"scope": "ip", "retry_after": 42}
    assert resp.headers["Retry-After"] == "42"


def test_account_rules_broken_in_views_keep_their_codes(client, auth):
    user, other = auth.user(), auth.user()
    taken = client.patch("/api/users/me", json={"email": other.email}, headers=user.headers)
    assert assert_envelope(taken, 409, "email_taken")["details"] == {}
    weak = client.post(
        "/api/users/me/password",
        json={"current_password": user.password, "new_password": "password12"},
        headers=user.headers,
    )
    assert list(assert_envelope(weak, 422, "validation_error")["details"]["json"]) == ["new_password"]
