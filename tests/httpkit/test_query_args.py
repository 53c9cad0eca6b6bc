"""httpkit/parsing.py QueryArgs: the memoised query of a view that parses it itself."""

from __future__ import annotations

import marshmallow as ma
import pytest
from flask import Flask
from werkzeug.exceptions import UnprocessableEntity

from httpkit.errors import Blueprint, register_error_handlers
from httpkit.parsing import MAX_ENTRIES, QueryArgs


class QuerySchema(ma.Schema):
    limit = ma.fields.Integer(load_default=10, validate=ma.validate.Range(min=1, max=100))
    symbol = ma.fields.String(load_default=None)


def _app(query: QueryArgs) -> Flask:
    app = Flask("query_args_test")

    @app.get("/q")
    def view():
        return dict(query())

    register_error_handlers(app)
    return app


def _query(maxsize: int = MAX_ENTRIES, **kwargs) -> QueryArgs:
    return QueryArgs(QuerySchema(), parser=Blueprint.ARGUMENTS_PARSER, maxsize=maxsize, **kwargs)


def test_a_hit_is_the_parse_it_memoised_and_read_only():
    query = _query(unknown=ma.RAISE)
    app = _app(query)
    with app.test_request_context("/q?limit=5&symbol=AAPL"):
        first = query()
        assert first == {"limit": 5, "symbol": "AAPL"}
        assert query() is first  # the memo
        with pytest.raises(TypeError):
            first["limit"] = 6  # type: ignore[index]  # shared: read-only
    with app.test_request_context("/q"):
        assert query() == {"limit": 10, "symbol": None}
    assert query.cache_info().hits == 1 and query.cache_info().misses == 2


def test_errors_are_the_parsers_and_never_memoised():
    query = _query(unknown=ma.RAISE)
    client = _app(query).test_client()
    for _ in range(2):
        resp = client.get("/q?limit=0&foo=1")
        assert resp.status_code == 422
        assert resp.get_json()["error"]["code"] == "validation_error"
        assert resp.get_json()["error"]["details"] == {
            "query": {
                "foo": ["Unknown field."],
                "limit": ["Must be greater than or equal to 1 and less than or equal to 100."],
            }
        }
    # The strict parser's own checks (a parameter given twice) come through too.
    assert client.get("/q?limit=1&limit=2").status_code == 422
    assert query.cache_info().currsize == 0


def test_the_keywords_reach_the_parser():
    lenient = _query()  # webargs' default for query strings: unknown parameters are dropped
    app = _app(lenient)
    with app.test_request_context("/q?limit=3&foo=1"):
        assert lenient() == {"limit": 3, "symbol": None}
    strict = _query(unknown=ma.RAISE)
    with _app(strict).test_request_context("/q?limit=3&foo=1"):
        with pytest.raises(UnprocessableEntity):  # webargs' abort, answered 422 by the envelope
            strict()


def test_the_memo_is_bounded_and_keeps_what_is_asked_for():
    query = _query(maxsize=8)
    app = _app(query)
    with app.test_request_context("/q?symbol=HOT"):
        hot = query()
    for i in range(100):  # a client varying the query string at will
        with app.test_request_context(f"/q?symbol=S{i}"):
            query()
        with app.test_request_context("/q?symbol=HOT"):
            assert query() is hot  # least recently used goes first; the hot one stays
    info = query.cache_info()
    assert info.maxsize == 8 and info.currsize == 8


def test_default_bound():
    assert _query().cache_info().maxsize == MAX_ENTRIES == 1024
