"""Config classes: environment variables honoured, production refuses weak settings."""

import pytest

from app import create_app
from config import ProductionConfig, config_for

STRONG = "0123456789abcdefghijklmnopqrstuv"  # 32 bytes, 32 distinct characters


@pytest.fixture(autouse=True)
def _own_instance_dir(tmp_path, monkeypatch):
    # Development builds generate secrets under the instance dir: never the repository's.
    monkeypatch.setenv("INSTANCE_DIR", str(tmp_path / "instance"))


def test_app_env_picks_the_class(monkeypatch):
    monkeypatch.setenv("APP_ENV", "testing")
    assert config_for().APP_ENV == "testing"
    monkeypatch.delenv("APP_ENV")
    assert config_for().APP_ENV == "development"
    with pytest.raises(RuntimeError, match="unknown APP_ENV"):
        config_for("staging")


def test_environment_variables_are_read_when_the_app_is_built(monkeypatch):
    monkeypatch.setenv("ARGO_URL", "http://argo.internal:9000")
    monkeypatch.setenv("METRICS_FLUSH_INTERVAL", "2.5")
    monkeypatch.setenv("DATABASE_URL", "postgres://u@db/x")
    cfg = config_for("development").build()
    assert cfg["ARGO_URL"] == "http://argo.internal:9000"
    assert cfg["METRICS_FLUSH_INTERVAL"] == 2.5
    assert cfg["SQLALCHEMY_DATABASE_URI"] == "postgresql+psycopg://u@db/x"
    assert cfg["CELERY"]["broker_url"] == cfg["REDIS_URL"]


def test_embedded_default_is_sqlite_and_embedded_redis(monkeypatch, tmp_path):
    for var in ("DATABASE_URL", "REDIS_URL", "EMBEDDED_REDIS_PORT"):
        monkeypatch.delenv(var, raising=False)
    cfg = config_for("development").build()
    assert cfg["SQLALCHEMY_DATABASE_URI"] == f"sqlite:///{tmp_path / 'instance' / 'alpine.db'}"
    # The embedded Redis on loopback, with the instance's generated password.
    password = (tmp_path / "instance" / "redis.password").read_text().strip()
    assert len(password) >= 32
    assert cfg["REDIS_URL"] == f"redis://:{password}@127.0.0.1:6390/0"


@pytest.mark.parametrize(
    "overrides, complaint",
    [
        ({"SECRET_KEY": "short", "JWT_SECRET_KEY": STRONG}, "SECRET_KEY"),
        ({"SECRET_KEY": STRONG, "JWT_SECRET_KEY": "short"}, "JWT_SECRET_KEY"),
        ({"SECRET_KEY": STRONG, "JWT_SECRET_KEY": STRONG, "DATABASE_URL": None}, "DATABASE_URL"),
        ({"SECRET_KEY": STRONG, "JWT_SECRET_KEY": STRONG, "REDIS_URL": None}, "REDIS_URL"),
    ],
)
def test_production_refuses_weak_or_missing_settings(monkeypatch, overrides, complaint):
    for var in ("DATABASE_URL", "REDIS_URL", "SECRET_KEY", "JWT_SECRET_KEY"):
        monkeypatch.delenv(var, raising=False)
    settings = {"DATABASE_URL": "postgresql://u@db/x", "REDIS_URL": "redis://r:6379/0", **overrides}
    with pytest.raises(RuntimeError, match=complaint):
        ProductionConfig.build(settings)
    with pytest.raises(RuntimeError, match="refusing to start"):
        create_app({"APP_ENV": "production", **settings})


def test_production_starts_with_strong_settings(monkeypatch):
    cfg = ProductionConfig.build(
        {
            "SECRET_KEY": STRONG,
            "JWT_SECRET_KEY": STRONG,
            "DATABASE_URL": "postgresql://u@db/x",
            "REDIS_URL": "redis://r:6379/0",
        }
    )
    assert cfg["SQLALCHEMY_ENGINE_OPTIONS"]["pool_pre_ping"] is True
    assert cfg["SQLALCHEMY_ENGINE_OPTIONS"]["pool_size"] == 5
