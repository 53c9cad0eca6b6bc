"""Development secrets are per instance (never a constant anyone can read in the source),
production refuses weak secrets, Argo in production refuses a missing or weak API key,
and the SQLite files of both services are created owner-only."""

from __future__ import annotations

import stat

import pytest

from app import create_app
from argo_app import create_app as create_argo
from config import ProductionConfig

STRONG = "0123456789abcdefghijklmnopqrstuv"
WEAK = [" " * 32, "ab" * 16, "a1" * 40, "short-but-varied-123"]


def _mode(path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture
def no_secret_env(monkeypatch):
    for var in (
        "SECRET_KEY",
        "JWT_SECRET_KEY",
        "DATABASE_URL",
        "REDIS_URL",
        "INSTANCE_DIR",
        "ARGO_API_KEY",
        "ARGO_DB_PATH",
        "APP_ENV",
    ):
        monkeypatch.delenv(var, raising=False)


def _dev_app(instance, base_config):
    # The suite's database and Redis; only the secrets are left to the instance.
    return create_app(
        {
            "APP_ENV": "development",
            "INSTANCE_DIR": str(instance),
            "DATABASE_URL": base_config["DATABASE_URL"],
            "REDIS_URL": base_config["REDIS_URL"],
            "METRICS_ENABLED": False,
        }
    )


def test_development_secrets_are_generated_per_instance_0600_and_reused(
    no_secret_env, tmp_path, _schema, base_config
):
    one, two = tmp_path / "one", tmp_path / "two"
    first, again, other = _dev_app(one, base_config), _dev_app(one, base_config), _dev_app(two, base_config)

    for name, filename in (("SECRET_KEY", "secret_key"), ("JWT_SECRET_KEY", "jwt_secret_key")):
        assert _mode(one / filename) == 0o600 and _mode(two / filename) == 0o600
        assert len(first.config[name]) >= 32 and len(set(first.config[name])) >= 10
        assert first.config[name] == again.config[name] == (one / filename).read_text().strip()
        assert first.config[name] != other.config[name]
    assert first.config["SECRET_KEY"] != first.config["JWT_SECRET_KEY"]
    assert "dev-only-secret" not in first.config["JWT_SECRET_KEY"]


def test_an_admin_token_minted_with_the_old_public_constant_is_refused(
    no_secret_env, tmp_path, app, base_config
):
    # (``app``: the suite's fixture, which empties the tables afterwards.)
    # The attack: the development default used to be this constant, readable in the source;
    # anyone could sign a token for the demo admin with it.
    from app.accounts import users as user_service
    from app.accounts.models import User
    from app.accounts.tokens import issue_tokens
    from app.extensions import db

    old_constant = "dev-only-secret-not-for-production-use!!"
    minter = create_app({**base_config, "JWT_SECRET_KEY": old_constant, "METRICS_ENABLED": False})
    with minter.app_context():
        admin = user_service.create_user(
            "demo-admin@example.com", "correct horse battery", "Demo", is_admin=True
        )
        forged = issue_tokens(db.session.get(User, admin.id))["access_token"]
    headers = {"Authorization": f"Bearer {forged}"}
    assert minter.test_client().get("/api/admin/analytics", headers=headers).status_code == 200

    app = _dev_app(tmp_path / "instance", base_config)  # no JWT_SECRET_KEY given
    resp = app.test_client().get("/api/admin/analytics", headers=headers)
    assert resp.status_code == 401
    assert resp.get_json()["error"]["code"]


@pytest.mark.parametrize("weak", WEAK)
@pytest.mark.parametrize("name", ["SECRET_KEY", "JWT_SECRET_KEY"])
def test_production_refuses_weak_secrets(no_secret_env, name, weak):
    settings = {
        "SECRET_KEY": STRONG,
        "JWT_SECRET_KEY": STRONG,
        "DATABASE_URL": "postgresql://u@db/x",
        "REDIS_URL": "redis://r:6379/0",
        name: weak,
    }
    with pytest.raises(RuntimeError, match=f"refusing to start in production.*{name}"):
        ProductionConfig.build(settings)
    with pytest.raises(RuntimeError, match="refusing to start"):
        create_app({"APP_ENV": "production", **settings})


def test_production_never_generates_secrets(no_secret_env, tmp_path):
    with pytest.raises(RuntimeError, match="SECRET_KEY must be set"):
        ProductionConfig.build(
            {
                "INSTANCE_DIR": str(tmp_path),
                "DATABASE_URL": "postgresql://u@db/x",
                "REDIS_URL": "redis://r:6379/0",
                "JWT_SECRET_KEY": STRONG,
            }
        )
    assert not (tmp_path / "secret_key").exists()


@pytest.mark.parametrize("key", [None, "", *WEAK])
def test_argo_in_production_refuses_a_missing_or_weak_api_key(no_secret_env, monkeypatch, tmp_path, key):
    db = tmp_path / "argo.db"
    with pytest.raises(RuntimeError, match="refusing to start in production.*ARGO_API_KEY"):
        create_argo({"APP_ENV": "production", "ARGO_API_KEY": key, "ARGO_DB_PATH": str(db)})
    monkeypatch.setenv("APP_ENV", "production")  # the way a deployment says it
    with pytest.raises(RuntimeError, match="ARGO_API_KEY"):
        create_argo({"ARGO_API_KEY": key, "ARGO_DB_PATH": str(db)})
    assert not db.exists()  # refused before opening anything


def test_argo_in_production_starts_with_a_strong_key_and_requires_it(no_secret_env, tmp_path):
    argo = create_argo(
        {"APP_ENV": "production", "ARGO_API_KEY": STRONG, "ARGO_DB_PATH": str(tmp_path / "argo.db")}
    )
    try:
        client = argo.test_client()
        assert client.get("/api/signals/latest").status_code == 401
        assert client.get("/api/signals/latest", headers={"X-API-Key": STRONG}).status_code == 200
    finally:
        argo.extensions["argo_store"].close_all()


def test_sqlite_files_are_created_owner_only(no_secret_env, tmp_path, base_config):
    from app.extensions import db

    alpine = create_app(
        {
            "APP_ENV": "development",
            "INSTANCE_DIR": str(tmp_path),
            "REDIS_URL": base_config["REDIS_URL"],
            "METRICS_ENABLED": False,
        }
    )
    with alpine.app_context():
        db.create_all()  # opens the database: SQLite creates alpine.db and its WAL
        db.engine.dispose()
    argo = create_argo({"ARGO_DB_PATH": str(tmp_path / "argo.db")})
    argo.extensions["argo_store"].close_all()

    created = sorted(p.name for p in tmp_path.iterdir() if ".db" in p.name)
    assert {"alpine.db", "argo.db"} <= set(created)
    for name in created:  # the databases and any -wal/-shm SQLite made next to them
        assert _mode(tmp_path / name) == 0o600, name
