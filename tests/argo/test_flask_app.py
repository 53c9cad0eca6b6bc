"""ArgoFlask.ensure_sync: remembers plain functions, nothing else, boundedly."""

from __future__ import annotations

import pytest

from argo_app import flask_app
from argo_app.flask_app import ArgoFlask


def test_plain_functions_are_remembered_and_returned_as_they_are():
    app = ArgoFlask(__name__)

    def view():
        return "ok"

    assert app.ensure_sync(view) is view
    assert view in app.known_sync
    assert app.ensure_sync(view) is view


def test_bound_methods_and_other_callables_are_not_remembered():
    app = ArgoFlask(__name__)

    class Unhashable:
        __hash__ = None  # type: ignore[assignment]

        def __call__(self):
            return "ok"

        def method(self):
            return "ok"

    thing = Unhashable()
    assert app.ensure_sync(thing) is thing
    assert app.ensure_sync(thing.method) == thing.method
    assert app.known_sync == set()


def test_coroutine_functions_still_go_to_flask():
    app = ArgoFlask(__name__)

    async def view():
        return "ok"

    try:
        wrapped = app.ensure_sync(view)
    except RuntimeError:  # Flask without its async extra: refused, as plain Flask does
        wrapped = None
    assert wrapped is not view
    assert view not in app.known_sync


def test_the_memo_is_bounded(monkeypatch):
    monkeypatch.setattr(flask_app, "SYNC_MEMO_MAX", 10)
    app = ArgoFlask(__name__)
    funcs = [(lambda: None) for _ in range(25)]  # 25 distinct function objects
    for func in funcs:
        assert app.ensure_sync(func) is func
    assert len(app.known_sync) == 10


@pytest.mark.parametrize("path", ["/api/signals/latest", "/health"])
def test_argo_remembers_its_views_and_hooks(argo_client, argo_app_, path):
    assert isinstance(argo_app_, ArgoFlask)
    for _ in range(2):
        assert argo_client.get(path).status_code == 200
    assert 0 < len(argo_app_.known_sync) <= 8
