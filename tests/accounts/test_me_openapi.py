"""GET /api/users/me is documented by flask-smorest but runs none of its wrappers
(httpkit/doc_only.py): the document must be what the stacked decorators gave."""

from __future__ import annotations

from app.accounts import user_views

# /openapi.json's operation as it was with the runtime decorators (byte for byte).
EXPECTED_GET = {
    "summary": "The authenticated user (served from the user cache: no SQL in steady state).",
    "responses": {
        "200": {
            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/User"}}},
            "description": "OK",
        },
        "401": {"$ref": "#/components/responses/UNAUTHORIZED"},
        "403": {"$ref": "#/components/responses/FORBIDDEN"},
        "default": {"$ref": "#/components/responses/DEFAULT_ERROR"},
    },
    "security": [{"bearerAuth": []}, {"apiKeyAuth": []}],
    "tags": ["users"],
}


def test_me_is_documented_as_before(client):
    doc = client.get("/openapi.json").get_json()
    assert doc["paths"]["/api/users/me"]["get"] == EXPECTED_GET
    assert set(doc["paths"]["/api/users/me"]) == {"get", "patch"}


def test_only_jwt_required_stands_between_flask_and_the_view(app):
    registered = app.view_functions["users.me"]
    assert registered is user_views.me  # jwt_required's wrapper (the module's name for it)
    view = registered.__wrapped__
    assert view.__name__ == "me" and not hasattr(view, "__wrapped__")  # the view itself


def test_me_errors_keep_the_envelope(client):
    resp = client.get("/api/users/me")
    assert resp.status_code == 401 and resp.get_json()["error"]["code"] == "token_missing"
