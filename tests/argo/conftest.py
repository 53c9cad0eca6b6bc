"""Argo's own fixtures (prefixed argo_ so they never clash with Alpine's)."""

from __future__ import annotations

import pytest

from argo_app import create_app
from argo_app.generator.engine import generate

POPULATED_COUNT = 3000
POPULATED_SEED = 11


def _make_app(db_path, **extra):
    return create_app({"ARGO_DB_PATH": str(db_path), "TESTING": True, **extra})


@pytest.fixture
def argo_app_(tmp_path):
    """An Argo app over an empty SQLite file of its own."""
    app = _make_app(tmp_path / "argo.db")
    yield app
    app.extensions["argo_store"].close_all()


@pytest.fixture
def argo_client(argo_app_):
    return argo_app_.test_client()


@pytest.fixture(scope="module")
def argo_populated(tmp_path_factory):
    """An Argo app holding a few thousand generated signals (read-only in tests).

    8 symbols share bar timestamps, so there are plenty of timestamp ties.
    """
    app = _make_app(tmp_path_factory.mktemp("argo_populated") / "argo.db")
    store = app.extensions["argo_store"]
    store.insert_many(generate(POPULATED_COUNT, POPULATED_SEED))
    yield app
    store.close_all()


@pytest.fixture
def argo_pop_client(argo_populated):
    return argo_populated.test_client()


@pytest.fixture
def argo_pop_db(argo_populated):
    """This thread's connection to the populated store, for ground-truth queries."""
    return argo_populated.extensions["argo_store"].connection()
