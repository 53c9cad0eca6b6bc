"""Every error is the JSON envelope, never HTML or a traceback."""

import logging

import marshmallow as ma
import pytest

from app import create_app


def assert_envelope(resp, status, code):
    assert resp.status_code == status, resp.get_data(as_text=True)
    assert resp.mimetype == "application/json"
    body = resp.get_json()
    assert set(body) == {"error"}
    assert body["error"]["code"] == code
    assert isinstance(body["error"]["message"], str) and body["error"]["message"]
    assert isinstance(body["error"]["details"], dict)
    return body["error"]


@pytest.fixture
def echo_app(_schema, base_config):
    """An Alpine app with two extra routes: one validating a body, one raising."""
    from app.extensions import db
    from httpkit.errors import Blueprint

    class EchoSchema(ma.Schema):
        name = ma.fields.String(required=True)

    blp = Blueprint("echo", __name__, url_prefix="/test")

    @blp.route("/echo", methods=["POST"])
    @blp.arguments(EchoSchema)
    def echo(data):
        return data

    @blp.route("/boom")
    def boom():
        raise RuntimeError("secret internals")

    app = create_app(dict(base_config))
    from app.extensions import api

    api.register_blueprint(blp)
    yield app
    with app.app_context():
        db.engine.dispose()


def test_unknown_route_is_json_404(client):
    assert_envelope(client.get("/nope"), 404, "not_found")


def test_wrong_method_is_json_405_with_allow(client):
    err = assert_envelope(client.delete("/health"), 405, "method_not_allowed")
    assert err is not None


@pytest.mark.parametrize(
    "kwargs",
    [
        {"data": "{not json", "content_type": "application/json"},
        {"json": [1, 2, 3]},
        {"data": "name=x", "content_type": "application/x-www-form-urlencoded"},
        {"data": b"\xff\xfe\xfa", "content_type": "application/json"},
    ],
)
def test_bad_bodies_are_invalid_json(echo_app, kwargs):
    resp = echo_app.test_client().post("/test/echo", **kwargs)
    assert_envelope(resp, 400, "invalid_json")


def test_validation_error_names_location_and_field(echo_app):
    resp = echo_app.test_client().post("/test/echo", json={"name": "a", "extra": 1})
    err = assert_envelope(resp, 422, "validation_error")
    assert "extra" in err["details"]["json"]
    resp = echo_app.test_client().post("/test/echo", json={})
    err = assert_envelope(resp, 422, "validation_error")
    assert "name" in err["details"]["json"]


def test_valid_body_passes(echo_app):
    resp = echo_app.test_client().post("/test/echo", json={"name": "ok"})
    assert resp.status_code == 200 and resp.get_json() == {"name": "ok"}


def test_oversized_body_is_413(echo_app):
    resp = echo_app.test_client().post("/test/echo", data="x" * (65 * 1024), content_type="application/json")
    assert_envelope(resp, 413, "payload_too_large")


def test_unhandled_exception_is_500_without_traceback(echo_app, caplog):
    echo_app.config["PROPAGATE_EXCEPTIONS"] = False
    with caplog.at_level(logging.ERROR):
        resp = echo_app.test_client().get("/test/boom", headers={"X-Request-ID": "req-123"})
    err = assert_envelope(resp, 500, "internal_error")
    assert err["details"] == {"request_id": "req-123"}
    assert "secret internals" not in resp.get_data(as_text=True)
    assert "Traceback" not in resp.get_data(as_text=True)
    # ... but the operator can find it in the log by request id.
    assert any("req-123" in r.getMessage() for r in caplog.records)


def test_database_down_is_fast_json_503(_schema, base_config):
    app = create_app(
        {**base_config, "DATABASE_URL": "postgresql://postgres@127.0.0.1:1/nowhere", "DB_CONNECT_TIMEOUT": 1}
    )
    resp = app.test_client().get("/ready")
    assert resp.status_code == 503
    assert resp.get_json()["error"]["details"]["checks"]["database"] == "down"
