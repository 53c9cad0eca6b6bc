"""The feed is documented by flask-smorest but runs none of its wrappers
(httpkit/doc_only.py, httpkit/parsing.py QueryArgs): the document and the
answers must be what the stacked decorators gave."""

from __future__ import annotations

from app.feed import views
from httpkit.parsing import MAX_ENTRIES

URL = "/api/signals/latest"

# /openapi.json's operation as it was with the runtime decorators (byte for byte).
EXPECTED_OPERATION = {
    "summary": "Newest signals first, by tier.",
    "description": "starter: never a signal with confidence >= 95; premium_only -> 403\n"
    "tier_required. `limit` above the tier's max is clamped. `stale: true` when\n"
    "Argo is unreachable and the answer comes from Alpine's synced copy.\n"
    "A page inside the newest FEED_WINDOW signals is served from memory.",
    "parameters": [
        {
            "in": "query",
            "name": "offset",
            "required": False,
            "schema": {"default": 0, "maximum": 1000000, "minimum": 0, "type": "integer"},
        },
        {
            "description": "Only confidence >= 95 (pro and elite).",
            "in": "query",
            "name": "premium_only",
            "required": False,
            "schema": {"default": False, "type": "boolean"},
        },
        {
            "description": "e.g. AAPL (case-insensitive)",
            "in": "query",
            "name": "symbol",
            "required": False,
            "schema": {"default": None, "nullable": True, "type": "string"},
        },
        {
            "description": "Clamped to the tier's max (starter 10, pro 50, elite 200); "
            "the response says the applied limit.",
            "in": "query",
            "name": "limit",
            "required": False,
            "schema": {"default": 10, "maximum": 10000, "minimum": 1, "type": "integer"},
        },
    ],
    "responses": {
        "200": {
            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Feed"}}},
            "description": "OK",
        },
        "403": {"description": "premium_only=true on the starter tier (tier_required)"},
        "422": {"$ref": "#/components/responses/UNPROCESSABLE_ENTITY"},
        "503": {"description": "Argo unreachable and no signal synced yet (upstream_unavailable)"},
        "default": {"$ref": "#/components/responses/DEFAULT_ERROR"},
    },
    "security": [{"bearerAuth": []}, {"apiKeyAuth": []}],
    "tags": ["signals"],
}


def test_the_feed_is_documented_as_before(client):
    doc = client.get("/openapi.json").get_json()
    assert doc["paths"][URL] == {"get": EXPECTED_OPERATION}
    feed = doc["components"]["schemas"]["Feed"]
    assert set(feed["properties"]) == {"signals", "count", "limit", "offset", "tier", "stale"}


def test_flask_calls_the_view_itself(app):
    # No flask-smorest / webargs wrapper between Flask and the view.
    assert app.view_functions["signals.latest"] is views.latest


def test_unknown_and_bad_parameters_are_the_same_422_every_time(feed_app, client, tier_headers):
    headers = tier_headers("pro")
    for _ in range(2):  # a failure is never memoised
        resp = client.get(URL + "?limit=0&colour=red", headers=headers)
        assert resp.status_code == 422 and resp.mimetype == "application/json"
        assert resp.get_json() == {
            "error": {
                "code": "validation_error",
                "message": "The request parameters or body failed validation.",
                "details": {
                    "query": {
                        "colour": ["Unknown field."],
                        "limit": ["Must be greater than or equal to 1 and less than or equal to 10000."],
                    }
                },
            }
        }


def test_the_query_memo_is_bounded():
    assert views.latest_query.cache_info().maxsize == MAX_ENTRIES
