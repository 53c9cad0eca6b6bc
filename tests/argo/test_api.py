"""GET /api/signals/latest, /api/signals/<sha256>, /health, /ready, errors, OpenAPI."""

from __future__ import annotations

import json
import os

import pytest

from argo_app import create_app

from .conftest import POPULATED_COUNT

LATEST = "/api/signals/latest"


def fetch(client, **params):
    resp = client.get(LATEST, query_string=params)
    assert resp.status_code == 200, resp.get_data(as_text=True)
    assert resp.mimetype == "application/json"
    return resp.get_json()


def fetch_all(client, page_size, **params):
    """Walk every page; stop at the first short page."""
    out, offset = [], 0
    while True:
        page = fetch(client, limit=page_size, offset=offset, **params)
        out.extend(page)
        if len(page) < page_size:
            return out
        offset += page_size


def truth(db, where="1=1", params=()):
    """Ground truth straight from SQL: served JSON, newest first, id breaking ties."""
    rows = db.execute(
        f"SELECT payload FROM signals WHERE {where} ORDER BY timestamp DESC, id DESC", params
    ).fetchall()
    return [json.loads(r[0]) for r in rows]


def test_populated_store_has_timestamp_ties(argo_pop_db):
    (ties,) = argo_pop_db.execute(
        "SELECT count(*) FROM (SELECT timestamp FROM signals GROUP BY timestamp HAVING count(*) > 1)"
    ).fetchone()
    assert ties > 100  # so the paging tests below really exercise tie-breaking


def test_default_is_ten_newest_first(argo_pop_client, argo_pop_db):
    got = fetch(argo_pop_client)
    assert got == truth(argo_pop_db)[:10]
    stamps = [s["timestamp"] for s in fetch(argo_pop_client, limit=500)]
    assert stamps == sorted(stamps, reverse=True)


@pytest.mark.parametrize("page_size", [7, 100, 500])
def test_paging_has_no_overlap_and_no_gap(argo_pop_client, argo_pop_db, page_size):
    everything = fetch_all(argo_pop_client, page_size)
    assert len(everything) == POPULATED_COUNT
    assert everything == truth(argo_pop_db)
    assert len({s["sha256"] for s in everything}) == POPULATED_COUNT


@pytest.mark.parametrize(
    "params,where,args",
    [
        ({"premium_only": "true"}, "confidence >= 95", ()),
        ({"symbol": "aapl"}, "symbol = ?", ("AAPL",)),
        ({"symbol": "BTC-USD", "premium_only": "true"}, "symbol = ? AND confidence >= 95", ("BTC-USD",)),
        ({"min_confidence": "80"}, "confidence >= ?", (80,)),
        ({"min_confidence": "97.5"}, "confidence >= ?", (97.5,)),
        ({"min_confidence": "70", "symbol": "SPY"}, "confidence >= ? AND symbol = ?", (70, "SPY")),
        ({"min_confidence": "50", "premium_only": "true"}, "confidence >= 95", ()),
        ({"premium_only": "false", "min_confidence": "0"}, "1=1", ()),
    ],
)
def test_every_filter_pages_exactly_like_sql(argo_pop_client, argo_pop_db, params, where, args):
    expected = truth(argo_pop_db, where, args)
    assert expected, "the fixture should have matching rows"
    assert fetch_all(argo_pop_client, 13, **params) == expected


def test_filters_hold_on_served_values(argo_pop_client):
    for s in fetch(argo_pop_client, limit=500, premium_only="true"):
        assert s["confidence"] >= 95
    for s in fetch(argo_pop_client, limit=500, symbol="nvda"):
        assert s["symbol"] == "NVDA"
    for s in fetch(argo_pop_client, limit=500, min_confidence="88.5"):
        assert s["confidence"] >= 88.5


def test_premium_only_returns_exactly_limit(argo_pop_client, argo_pop_db):
    (premium_total,) = argo_pop_db.execute("SELECT count(*) FROM signals WHERE confidence >= 95").fetchone()
    assert premium_total > 200
    for limit in (1, 10, 50, 200):
        got = fetch(argo_pop_client, limit=limit, premium_only="true")
        assert len(got) == limit
        assert all(s["confidence"] >= 95 for s in got)
    got = fetch(argo_pop_client, limit=500, premium_only="true")
    assert len(got) == min(500, premium_total)


def test_blank_optional_filters_mean_no_filter(argo_pop_client):
    assert fetch(argo_pop_client, symbol="", min_confidence="") == fetch(argo_pop_client)


def test_offset_past_the_end_is_empty(argo_pop_client):
    assert fetch(argo_pop_client, offset=POPULATED_COUNT) == []
    assert fetch(argo_pop_client, symbol="NOPE") == []


@pytest.mark.parametrize(
    "params,field",
    [
        ({"limit": "0"}, "limit"),
        ({"limit": "501"}, "limit"),
        ({"limit": "-1"}, "limit"),
        ({"limit": "ten"}, "limit"),
        ({"limit": "1.5"}, "limit"),
        ({"offset": "-1"}, "offset"),
        ({"offset": "1000001"}, "offset"),
        ({"offset": "x"}, "offset"),
        ({"premium_only": "maybe"}, "premium_only"),
        ({"min_confidence": "-0.1"}, "min_confidence"),
        ({"min_confidence": "100.1"}, "min_confidence"),
        ({"min_confidence": "nan"}, "min_confidence"),
        ({"min_confidence": "high"}, "min_confidence"),
        ({"symbol": "a b"}, "symbol"),
        ({"symbol": "X" * 16}, "symbol"),
        ({"symbol": "AAPL;DROP"}, "symbol"),
        ({"bogus": "1"}, "bogus"),
    ],
)
def test_bad_parameters_are_422_envelopes(argo_pop_client, params, field):
    resp = argo_pop_client.get(LATEST, query_string=params)
    assert resp.status_code == 422
    body = resp.get_json()
    assert body["error"]["code"] == "validation_error"
    assert isinstance(body["error"]["message"], str)
    assert list(body["error"]["details"]) == ["query"]
    assert field in body["error"]["details"]["query"]


def test_bad_request_is_never_cached_as_good(argo_pop_client):
    # the parse cache must not turn a failure into a success or vice versa
    for _ in range(3):
        assert argo_pop_client.get(LATEST + "?limit=0").status_code == 422
        assert argo_pop_client.get(LATEST + "?limit=3").status_code == 200
    assert len(fetch(argo_pop_client, limit=3)) == 3


def test_get_by_sha256(argo_pop_client):
    first = fetch(argo_pop_client, limit=1)[0]
    resp = argo_pop_client.get(f"/api/signals/{first['sha256']}")
    assert resp.status_code == 200
    assert resp.get_json() == first
    # upper-case hex is the same hash
    assert argo_pop_client.get(f"/api/signals/{first['sha256'].upper()}").get_json() == first


@pytest.mark.parametrize("sha", ["0" * 64, "abc", "g" * 64, "0" * 65])
def test_unknown_or_malformed_sha256_is_404_envelope(argo_pop_client, sha):
    resp = argo_pop_client.get(f"/api/signals/{sha}")
    assert resp.status_code == 404
    assert resp.get_json()["error"]["code"] == "not_found"


def test_unknown_route_and_wrong_method_are_json(argo_pop_client):
    resp = argo_pop_client.get("/api/nothing-here")
    assert resp.status_code == 404
    assert resp.get_json()["error"]["code"] == "not_found"
    resp = argo_pop_client.post(LATEST)
    assert resp.status_code == 405
    assert resp.get_json()["error"]["code"] == "method_not_allowed"
    assert "GET" in resp.headers["Allow"]


def test_body_limit_is_64_kib(argo_app_):
    assert argo_app_.config["MAX_CONTENT_LENGTH"] == 64 * 1024


def test_health_and_ready(argo_client):
    assert argo_client.get("/health").get_json() == {"status": "ok"}
    resp = argo_client.get("/ready")
    assert resp.status_code == 200
    assert resp.get_json()["status"] == "ok"


def test_ready_is_503_naming_the_database_when_the_store_is_gone(tmp_path):
    db = tmp_path / "argo.db"
    app = create_app({"ARGO_DB_PATH": str(db), "TESTING": True})
    for suffix in ("", "-wal", "-shm"):
        if os.path.exists(f"{db}{suffix}"):
            os.remove(f"{db}{suffix}")
    os.mkdir(db)  # the path now cannot be opened as a database
    resp = app.test_client().get("/ready")
    assert resp.status_code == 503
    body = resp.get_json()
    assert body["error"]["code"] == "service_unavailable"
    assert body["error"]["details"] == {"database": "down"}
    assert app.test_client().get("/health").status_code == 200


def test_openapi_documents_every_endpoint(argo_client):
    doc = argo_client.get("/openapi.json").get_json()
    assert doc["openapi"].startswith("3.")
    assert {"/api/signals/latest", "/api/signals/{sha256}", "/health", "/ready"} <= set(doc["paths"])
    names = {p["name"] for p in doc["paths"]["/api/signals/latest"]["get"]["parameters"]}
    assert names == {"limit", "offset", "premium_only", "symbol", "min_confidence"}
    assert argo_client.get("/docs").status_code == 200


def test_latest_is_documented_as_the_stacked_decorators_would_document_it(argo_client):
    """latest documents itself with doc_only (no per-request wrappers); the
    operation must be the one @blp.arguments + @blp.response would write."""
    import marshmallow as ma
    from flask import Flask

    from argo_app import views
    from argo_app.settings import load_config
    from httpkit.errors import Api
    from httpkit.parsing import Blueprint
    from httpkit.schemas import SignalSchema

    blp = Blueprint(
        "signals", "argo_app.views", url_prefix="/api/signals", description="Trading signals, newest first"
    )

    def latest(**kwargs):
        pass

    latest.__doc__ = views.latest.__doc__  # summary and description
    blp.route("/latest")(
        blp.arguments(views.LatestQuerySchema(), location="query", as_kwargs=True, unknown=ma.RAISE)(
            blp.response(200, SignalSchema(many=True))(latest)
        )
    )
    reference = Flask("reference")
    reference.config.update(load_config({"ARGO_DB_PATH": ":memory:"}))
    api = Api(reference)
    api.register_blueprint(blp)
    want = reference.test_client().get("/openapi.json").get_json()["paths"][LATEST]
    got = argo_client.get("/openapi.json").get_json()["paths"][LATEST]
    assert got == want


def test_optional_api_key(tmp_path):
    app = create_app({"ARGO_DB_PATH": str(tmp_path / "a.db"), "ARGO_API_KEY": "s3cret-key"})
    client = app.test_client()
    resp = client.get(LATEST)
    assert resp.status_code == 401
    assert resp.get_json()["error"]["code"] == "api_key_missing"
    resp = client.get(LATEST, headers={"X-API-Key": "wrong"})
    assert resp.status_code == 401
    assert resp.get_json()["error"]["code"] == "api_key_invalid"
    assert client.get(LATEST, headers={"X-API-Key": "s3cret-key"}).status_code == 200
    assert client.get("/health").status_code == 200  # only /api/* is guarded


def test_env_var_sets_the_db_path(tmp_path, monkeypatch):
    target = tmp_path / "nested" / "dir" / "argo.db"
    monkeypatch.setenv("ARGO_DB_PATH", str(target))
    app = create_app()
    assert app.config["ARGO_DB_PATH"] == str(target)
    assert target.exists()  # directory created, schema in place
    # the config dict wins over the environment
    other = tmp_path / "other.db"
    assert create_app({"ARGO_DB_PATH": str(other)}).config["ARGO_DB_PATH"] == str(other)
