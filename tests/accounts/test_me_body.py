"""/me encodes its body directly: it must be exactly what UserSchema documents and dumps."""

from __future__ import annotations

import json

from app.accounts.models import User
from app.accounts.schemas import UserSchema
from app.extensions import db


def test_me_is_the_schema_dump_of_the_user(app, auth, client):
    user = auth.user(tier="pro", full_name='Zoë "Quotes" O\'Neil')
    for _ in range(2):  # a miss (from SQL), then a hit (from the user cache)
        resp = client.get("/api/users/me", headers=user.headers)
        assert resp.status_code == 200 and resp.mimetype == "application/json"
        with app.app_context():
            expected = json.loads(json.dumps(UserSchema().dump(db.session.get(User, user.id))))
        assert resp.get_json() == expected
        assert set(expected) == {
            "id",
            "email",
            "full_name",
            "tier",
            "is_active",
            "is_verified",
            "is_admin",
            "created_at",
        }
