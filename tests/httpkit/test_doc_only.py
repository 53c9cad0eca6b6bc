"""httpkit/doc_only.py: flask-smorest's documentation without its per-request wrappers.

The adapter relies on one private detail of flask-smorest (its decorators leave
the documentation in ``_apidoc``, which ``Blueprint.route`` reads). These tests
fail if a flask-smorest release changes that: the operation documented with
``doc_only`` must stay identical to the one the stacked decorators produce.
"""

from __future__ import annotations

import marshmallow as ma
import pytest
from flask import Flask, Response

from httpkit.doc_only import doc_only
from httpkit.errors import Api, Blueprint


class QuerySchema(ma.Schema):
    class Meta:
        unknown = ma.RAISE

    limit = ma.fields.Integer(load_default=10, metadata={"description": "how many"})
    symbol = ma.fields.String(load_default=None)


class BodySchema(ma.Schema):
    name = ma.fields.String(required=True)


class OutSchema(ma.Schema):
    count = ma.fields.Integer(required=True)


SECURITY = [{"bearerAuth": []}]


def _decorators(blp: Blueprint) -> list:
    """A stack like the hot views': doc, query arguments, response, alt responses by
    description and by reference."""
    return [
        blp.doc(security=SECURITY, description="manual"),
        blp.arguments(QuerySchema(), location="query", as_kwargs=True, unknown=ma.RAISE),
        blp.response(200, OutSchema),
        blp.alt_response(401, response="UNAUTHORIZED", description="token_* errors"),
        blp.alt_response(403, description="tier_required"),
    ]


def _build():
    app = Flask("doc_only_test")
    app.config.update(API_TITLE="t", API_VERSION="1", OPENAPI_VERSION="3.0.3")
    api = Api(app)
    stacked = Blueprint("stacked", __name__, url_prefix="/stacked")
    plain = Blueprint("plain", __name__, url_prefix="/plain")

    def stacked_view(limit, symbol):
        """Summary line.

        Longer description.
        """
        return Response(f'{{"count":{limit}}}', mimetype="application/json")

    for decorator in reversed(_decorators(stacked)):
        stacked_view = decorator(stacked_view)
    stacked.route("/op")(stacked_view)

    calls = []

    @plain.route("/op")
    @doc_only(*_decorators(plain))
    def plain_view():
        """Summary line.

        Longer description.
        """
        calls.append(1)
        return Response('{"count":1}', mimetype="application/json")

    # A body (requestBody) and a method other than GET, documented only.
    @plain.route("/body", methods=["POST"])
    @doc_only(plain.arguments(BodySchema), plain.response(201, OutSchema))
    def plain_body():
        return Response("{}", status=201, mimetype="application/json")

    @stacked.route("/body", methods=["POST"])
    @stacked.arguments(BodySchema)
    @stacked.response(201, OutSchema)
    def stacked_body(body):
        return Response("{}", status=201, mimetype="application/json")

    api.register_blueprint(stacked)
    api.register_blueprint(plain)
    return app, api, plain_view, calls


@pytest.fixture(scope="module")
def built():
    return _build()


def _operations(api, prefix: str) -> dict:
    paths = api.spec.to_dict()["paths"]
    ops = {path[len(prefix) :]: item for path, item in paths.items() if path.startswith(prefix)}
    for item in ops.values():
        for op in item.values():
            op.pop("tags")  # the blueprint's name
    return ops


def test_doc_only_documents_exactly_what_the_stacked_decorators_do(built):
    _, api, _, _ = built
    stacked, plain = _operations(api, "/stacked"), _operations(api, "/plain")
    assert set(plain) == {"/op", "/body"}
    assert plain == stacked
    op = plain["/op"]["get"]
    # What the library must keep producing from the carried documentation:
    assert [p["name"] for p in op["parameters"]] == ["limit", "symbol"]
    assert set(op["responses"]) == {"200", "401", "403", "422", "default"}
    assert op["security"] == SECURITY and op["description"] == "manual"
    assert op["summary"] == "Summary line."
    assert "requestBody" in plain["/body"]["post"]


def test_the_registered_view_is_the_function_itself(built):
    app, _, plain_view, calls = built
    # Flask calls the view directly: no flask-smorest or webargs wrapper runs.
    assert app.view_functions["plain.plain_view"] is plain_view
    resp = app.test_client().get("/plain/op?anything=goes")
    assert resp.status_code == 200 and resp.get_json() == {"count": 1} and calls == [1]


def test_documentation_further_down_the_stack_is_kept():
    blp = Blueprint("nested", __name__)

    @doc_only(blp.response(200, OutSchema))
    @doc_only(blp.doc(security=SECURITY))
    def view():
        return None

    doc = view._apidoc  # the flask-smorest attribute the adapter carries
    assert doc["manual_doc"] == {"security": SECURITY}
    assert 200 in doc["response"]["responses"]
