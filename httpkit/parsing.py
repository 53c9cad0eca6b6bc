"""Memoised query-string parsing: a webargs parser (for ``@blp.arguments``) and
``QueryArgs`` (for a hot view that parses its query itself, see httpkit/doc_only.py).

Parsing ``?limit=10&premium_only=true`` with marshmallow costs more than the
SQL query it feeds (~70 us of a ~250 us request here), and clients ask the same
few query strings over and over. For the ``query`` location the parsed result
is a pure function of (schema, raw query string), so we keep the last
``MAX_ENTRIES`` successful results. Failures are never cached: every bad
request goes through full validation and gets its 422.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from types import MappingProxyType
from typing import Any

import marshmallow as ma
from flask import Request, request
from webargs.flaskparser import FlaskParser

from httpkit import errors as http_errors
from httpkit.strict_parser import JSONObjectParser

MAX_ENTRIES = 1024


class CachingQueryParser(JSONObjectParser):
    """The shared parser (stricter bodies and query strings), plus the memo."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._cache: dict[tuple, dict] = {}

    def parse(
        self, argmap: Any, req: Request | None = None, *, location: str | None = None, **kwargs: Any
    ) -> Any:
        if location != "query" or not isinstance(argmap, ma.Schema):
            return super().parse(argmap, req, location=location, **kwargs)
        req = req if req is not None else self.get_default_request()
        # The schema instance lives as long as the view, so its id is stable.
        key = (id(argmap), req.query_string, repr(sorted(kwargs.items())))
        hit = self._cache.get(key)
        if hit is not None:
            return dict(hit)  # a copy: views may mutate what they receive
        data = super().parse(argmap, req, location=location, **kwargs)
        if len(self._cache) >= MAX_ENTRIES:
            self._cache.clear()  # crude but bounded; the hot keys come back at once
        self._cache[key] = dict(data)
        return data


class Blueprint(http_errors.Blueprint):
    """The shared Blueprint, using the caching query parser."""

    ARGUMENTS_PARSER = CachingQueryParser()


class QueryArgs:
    """The validated query of one view, memoised by the raw query string.

    ``QueryArgs(schema, parser=blp.ARGUMENTS_PARSER, unknown=ma.RAISE)()`` in a
    request returns what ``@blp.arguments(schema, location="query",
    unknown=ma.RAISE)`` would pass the view, and raises what it would raise
    (the same parser call with the same keywords, so the same 422 and
    envelope). A hit is one lookup of ``request.query_string``; the result is a
    read-only mapping (it is shared between requests).

    Bounded: at most ``maxsize`` query strings (each no longer than the request
    line the server accepts), least recently used evicted first: clients vary
    query strings at will. Failures are never stored: every bad query goes
    through full validation.
    """

    def __init__(
        self,
        schema: ma.Schema,
        *,
        parser: FlaskParser,
        maxsize: int = MAX_ENTRIES,
        **parse_kwargs: Any,
    ) -> None:
        """``parse_kwargs``: webargs ``Parser.parse``'s (``unknown``, ``validate``, ...)."""
        self.schema = schema
        self.parser = parser
        self.parse_kwargs = parse_kwargs
        # functools' C LRU: thread-safe, and an exception is not cached.
        self._memo = functools.lru_cache(maxsize=maxsize)(self._parse)

    def __call__(self) -> Mapping[str, Any]:
        return self._memo(request.query_string)

    def _parse(self, query_string: bytes) -> Mapping[str, Any]:
        # Only ever called by __call__ with the current request's query string,
        # of which the parsed result is a pure function.
        parsed = self.parser.parse(self.schema, request, location="query", **self.parse_kwargs)
        return MappingProxyType(parsed)

    def cache_info(self) -> Any:
        return self._memo.cache_info()

    def cache_clear(self) -> None:
        self._memo.cache_clear()
