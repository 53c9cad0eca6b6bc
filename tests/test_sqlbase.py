"""Timestamps read back timezone-aware UTC on SQLite (embedded) as on PostgreSQL."""

from datetime import UTC, datetime, timedelta, timezone

import pytest
from flask_migrate import upgrade

from app import create_app
from app.extensions import db
from app.models import User


@pytest.fixture(params=["sqlite", "postgresql"])
def any_db_app(request, tmp_path, app, base_config):
    if request.param == "postgresql":
        return app
    sqlite_app = create_app({**base_config, "DATABASE_URL": f"sqlite:///{tmp_path / 'a.db'}"})
    with sqlite_app.app_context():
        upgrade()
    return sqlite_app


def test_datetimes_come_back_aware_utc(any_db_app):
    plus_two = timezone(timedelta(hours=2))
    with any_db_app.app_context():
        user = User(
            email="tz@example.com", password_hash="x", created_at=datetime(2026, 1, 2, 14, 0, tzinfo=plus_two)
        )
        db.session.add(user)
        db.session.commit()
        db.session.expire_all()
        created = db.session.get(User, user.id).created_at
        assert created == datetime(2026, 1, 2, 12, 0, tzinfo=UTC)
        assert created.utcoffset() == timedelta(0)
        db.session.remove()
        db.engine.dispose()
