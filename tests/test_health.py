"""/health says the process is up; /ready names what is down."""

from app import create_app
from tests.conftest import free_port


def test_health_is_ok(client):
    resp = client.get("/health")
    assert resp.status_code == 200 and resp.get_json() == {"status": "ok"}


def test_ready_when_everything_is_up(app, argo_server):
    app.config["ARGO_URL"] = argo_server.url
    resp = app.test_client().get("/ready")
    assert resp.status_code == 200, resp.get_json()
    assert resp.get_json()["checks"] == {"database": "up", "redis": "up", "argo": "up"}


def test_ready_names_argo_when_it_is_down(client):
    # base_config points ARGO_URL at a port nothing listens on.
    resp = client.get("/ready")
    assert resp.status_code == 503
    err = resp.get_json()["error"]
    assert err["code"] == "not_ready"
    assert err["details"]["checks"]["argo"] == "down"
    assert err["details"]["checks"]["database"] == "up"
    assert err["details"]["checks"]["redis"] == "up"


def test_ready_names_redis_when_it_is_down(_schema, base_config):
    app = create_app({**base_config, "REDIS_URL": f"redis://127.0.0.1:{free_port()}/0"})
    resp = app.test_client().get("/ready")
    assert resp.status_code == 503
    assert resp.get_json()["error"]["details"]["checks"]["redis"] == "down"
