"""The outbound guard: private, loopback, link-local and metadata addresses are
refused on create and again at delivery, before any connection; redirects are
never followed. Every refusal here happens before a packet leaves: the only
traffic these tests send goes to receivers on 127.0.0.1."""

from __future__ import annotations

import pytest

from app.webhooks import ssrf
from tests.webhooks.receivers import Receiver

PRIVATE_URLS = [
    "http://10.1.2.3/hook",
    "http://169.254.169.254/latest/meta-data/",
    "http://192.168.1.10/hook",
    "http://[fe80::1]/hook",
    "http://[::ffff:10.0.0.1]/hook",
    "http://224.0.0.1/hook",
    "http://0.0.0.0/hook",
    "http://100.64.0.1/hook",
]
LOOPBACK_URLS = ["http://127.0.0.1:8080/hook", "http://[::1]:8080/hook", "http://localhost:8080/hook"]


@pytest.mark.parametrize("url", PRIVATE_URLS + LOOPBACK_URLS)
def test_guard_refuses_non_public_addresses_in_production(url):
    with pytest.raises(ssrf.Refused):
        ssrf.check_url(url, allow_private=False, require_https=False)


@pytest.mark.parametrize("url", PRIVATE_URLS)
def test_allow_private_lets_only_loopback_through(url):
    with pytest.raises(ssrf.Refused):
        ssrf.check_url(url, allow_private=True, require_https=False)


@pytest.mark.parametrize("url", LOOPBACK_URLS)
def test_loopback_is_allowed_for_development(url):
    target = ssrf.check_url(url, allow_private=True, require_https=False)
    assert target.address in ("127.0.0.1", "::1")


def test_https_is_required_when_configured():
    with pytest.raises(ssrf.Refused):
        ssrf.check_url("http://127.0.0.1/x", allow_private=True, require_https=True)
    assert ssrf.check_url("https://127.0.0.1/x", allow_private=True, require_https=True).scheme == "https"


@pytest.fixture
def config_overrides():
    return {"WEBHOOK_ALLOW_PRIVATE": False}


@pytest.mark.parametrize("url", PRIVATE_URLS + LOOPBACK_URLS)
def test_create_refuses_them_with_422(app, client, auth, url):
    pro = auth.user(tier="pro")
    resp = client.post("/api/webhooks", json={"url": url, "events": ["signal.created"]}, headers=pro.headers)
    assert resp.status_code == 422
    assert "url" in resp.get_json()["error"]["details"]["json"]
    assert client.get("/api/webhooks", headers=pro.headers).get_json()["items"] == []


def _message_for_test_event(app, client, pro, url):
    """An endpoint at ``url`` (created while loopback is allowed) and a queued test message."""
    app.config["WEBHOOK_ALLOW_PRIVATE"] = True
    eid = client.post("/api/webhooks", json={"url": url, "events": ["signal.created"]}, headers=pro.headers)
    eid = eid.get_json()["id"]
    msg_id = client.post(f"/api/webhooks/{eid}/test", headers=pro.headers).get_json()["message_id"]
    from app.extensions import db
    from app.webhooks.models import WebhookMessage

    with app.app_context():
        return eid, db.session.query(WebhookMessage).filter_by(msg_id=msg_id).one().id


def test_each_delivery_checks_again_and_refuses_before_connecting(app, client, auth):
    receiver = Receiver().start()
    try:
        pro = auth.user(tier="pro")
        eid, message_id = _message_for_test_event(app, client, pro, receiver.url)
        app.config["WEBHOOK_ALLOW_PRIVATE"] = False  # as production would see that address
        from app.webhooks.delivery import attempt

        with app.app_context():
            assert attempt(message_id) == "retry"
        assert receiver.received() == []
        log = client.get(f"/api/webhooks/{eid}/deliveries", headers=pro.headers).get_json()["items"]
        assert [(d["status_code"], d["error"]) for d in log] == [(None, "address_refused")]
    finally:
        receiver.stop()


def test_a_redirect_is_not_followed(app, client, auth):
    target = Receiver().start()
    redirector = Receiver(redirect_to=target.url).start()
    try:
        pro = auth.user(tier="pro")
        eid, message_id = _message_for_test_event(app, client, pro, redirector.url)
        from app.webhooks.delivery import attempt

        with app.app_context():
            assert attempt(message_id) == "retry"  # a 302 is not a 2xx
        assert len(redirector.received()) == 1
        assert target.received() == []
        log = client.get(f"/api/webhooks/{eid}/deliveries", headers=pro.headers).get_json()["items"]
        assert [(d["status_code"], d["error"]) for d in log] == [(302, "non_2xx")]
    finally:
        redirector.stop()
        target.stop()


def test_a_redirect_to_the_metadata_address_is_not_followed(app, client, auth):
    # Nothing listens there from this box's point of view and nothing is sent:
    # the 302 is recorded as a failed attempt and its Location is ignored.
    redirector = Receiver(redirect_to="http://169.254.169.254/latest/meta-data/").start()
    try:
        pro = auth.user(tier="pro")
        eid, message_id = _message_for_test_event(app, client, pro, redirector.url)
        from app.webhooks.delivery import attempt

        with app.app_context():
            assert attempt(message_id) == "retry"
        log = client.get(f"/api/webhooks/{eid}/deliveries", headers=pro.headers).get_json()["items"]
        assert log[0]["status_code"] == 302 and log[0]["duration_ms"] < 5000
    finally:
        redirector.stop()


def test_patch_to_a_private_url_is_422_and_changes_nothing(app, client, auth):
    pro = auth.user(tier="pro")
    app.config["WEBHOOK_ALLOW_PRIVATE"] = True
    created = client.post(
        "/api/webhooks",
        json={"url": "http://127.0.0.1:9/hook", "events": ["signal.created"]},
        headers=pro.headers,
    ).get_json()
    for url in ("http://10.0.0.7/hook", "http://169.254.169.254/", "gopher://127.0.0.1/"):
        resp = client.patch(f"/api/webhooks/{created['id']}", json={"url": url}, headers=pro.headers)
        assert resp.status_code == 422
    assert (
        client.get(f"/api/webhooks/{created['id']}", headers=pro.headers).get_json()["url"] == created["url"]
    )
