"""flask-smorest's documentation of a view, without its per-request wrappers.

Each of flask-smorest's view decorators (``doc``, ``arguments``, ``response``,
``alt_response``) does two things: it records the view's documentation and it
wraps the view in a function that runs on every request (argument parsing,
``ensure_sync``, response unpacking). On a hot view that already parses its
query itself (httpkit/parsing.py ``QueryArgs``) and returns a ready
``Response``, the wrappers do nothing observable but cost CPU: ~20% of the
feed's in a gunicorn profile. ``doc_only`` keeps the first half only::

    @blp.route("/latest")
    @doc_only(
        blp.arguments(QuerySchema(), location="query", unknown=ma.RAISE),
        blp.response(200, FeedSchema),
    )
    def latest():  # called by Flask directly: parse with QueryArgs, return a Response
        ...

The decorators are written exactly as they would be stacked (top first) and
produce exactly the same OpenAPI operation; only the runtime changes.

The one private name of flask-smorest touched anywhere: its decorators leave
their documentation in the wrapper's ``_apidoc`` attribute, and
``Blueprint.route`` reads it from the function it registers (its module
docstring describes this process; no public API hands that documentation to
``route`` without the wrapper). If flask-smorest changes it, the endpoint loses
parameters and responses in /openapi.json, and tests/httpkit/test_doc_only.py
(same document as the stacked decorators) fails.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

F = TypeVar("F", bound=Callable[..., Any])

APIDOC_ATTR = "_apidoc"  # flask-smorest's (see the module docstring)


def doc_only(*decorators: Callable[[Callable[..., Any]], Callable[..., Any]]) -> Callable[[F], F]:
    """Document the view with ``decorators`` (listed top first, as when stacked); run none of them."""

    def apply(view: F) -> F:
        def carrier(*args: Any, **kwargs: Any) -> Any:  # never called
            raise AssertionError("doc_only: documentation carrier called")

        if hasattr(view, APIDOC_ATTR):  # documented further down the stack too: keep it
            setattr(carrier, APIDOC_ATTR, getattr(view, APIDOC_ATTR))
        documented: Callable[..., Any] = carrier
        for decorator in reversed(decorators):
            documented = decorator(documented)
        setattr(view, APIDOC_ATTR, getattr(documented, APIDOC_ATTR))
        return view

    return apply
