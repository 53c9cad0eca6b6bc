"""Shared assertions for the hardening tests."""

from __future__ import annotations

import re

from sqlalchemy import func, select

SNAKE = re.compile(r"^[a-z][a-z0-9_]*$")


def assert_envelope(resp, status: int | tuple | None = None, code: str | None = None) -> dict:
    """The error envelope, JSON (never HTML); returns the inner error object."""
    if status is not None:
        expected = status if isinstance(status, tuple) else (status,)
        assert resp.status_code in expected, (resp.status_code, _text(resp)[:300])
    ctype = resp.headers.get("Content-Type", "")
    assert ctype.startswith("application/json"), (resp.status_code, ctype, _text(resp)[:300])
    body = resp.get_json() if hasattr(resp, "get_json") else resp.json()
    assert isinstance(body, dict) and set(body) == {"error"}, body
    err = body["error"]
    assert SNAKE.match(err["code"]), err
    assert isinstance(err["message"], str) and err["message"], err
    assert isinstance(err.get("details", {}), dict), err
    if code is not None:
        assert err["code"] == code, err
    return err


def _text(resp) -> str:
    return resp.get_data(as_text=True) if hasattr(resp, "get_data") else resp.text


def table_counts(app) -> dict[str, int]:
    """Row count of every Alpine table (a fresh session: sees committed rows only)."""
    from app.extensions import db

    with app.app_context():
        with db.engine.connect() as conn:
            return {
                t.name: conn.execute(select(func.count()).select_from(t)).scalar_one()
                for t in db.metadata.sorted_tables
            }
