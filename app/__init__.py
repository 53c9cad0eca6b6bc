"""Alpine: the API subscribers and admins talk to."""

from __future__ import annotations

import logging

from flask import Flask

from config import config_for


def create_app(config: dict | None = None) -> Flask:
    """Build an Alpine app. ``config`` overrides the ``APP_ENV`` config class."""
    from app.core import routing

    app = Flask(__name__)
    settings = dict(config or {})
    app.config.from_mapping(config_for(settings.pop("APP_ENV", None)).build(settings))
    routing.init_app(app)  # bounded <int:...> ids; before any route is added

    configure_logging(app)
    register_extensions(app)
    register_blueprints(app)
    register_errorhandlers(app)
    register_commands(app)
    return app


def configure_logging(app: Flask) -> None:
    if not logging.getLogger().handlers:
        logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
        logging.getLogger("alembic").setLevel(logging.WARNING)


def register_extensions(app: Flask) -> None:
    from app import keys, mail, metrics, models  # noqa: F401  (models: the schema, for Alembic)
    from app.accounts import request_auth
    from app.core import database, sessions
    from app.core.celery_app import celery_init_app
    from app.extensions import api, cache, db, jwt, migrate, redis_store
    from httpkit import methods as http_methods
    from httpkit import security as http_security

    db.init_app(app)
    database.init_app(app)
    # Batch mode: the same migrations alter tables on SQLite and PostgreSQL.
    migrate.init_app(app, db, render_as_batch=True, compare_type=True)
    jwt.init_app(app)
    cache.init_app(app)
    redis_store.init_app(app)
    api.init_app(app)
    request_auth.init_app(app)  # JWT callbacks, one Redis pipeline per request
    keys.init_app(app)  # API keys: an app-level before_request, ahead of every blueprint's
    sessions.init_app(app)
    http_security.init_app(app)
    celery_init_app(app)
    mail.init_app(app)  # Flask-Mailman (app/mail/): used by the Celery tasks that send account mail
    # Made-up methods become OTHER and get 405. Before metrics.init_app, whose
    # request timer goes in front of this hook so the 405s are counted too.
    http_methods.init_app(app)
    metrics.init_app(app)  # request counting hook + /metrics (app/metrics/)


def register_blueprints(app: Flask) -> None:
    from app import admin, web
    from app.accounts import auth_views, email_views, link_pages, user_views  # noqa: F401  (email_views: routes on auth's blp)
    from app.core import health
    from app.extensions import api
    from app.feed import views as feed_views
    from app.keys import views as key_views
    from app.usage import views as usage_views
    from app.webhooks import views as webhook_views
    from httpkit import docs as http_docs

    app.register_blueprint(health.blp)  # plain Flask: not part of the API document
    http_docs.init_app(app)  # /docs/assets/: Swagger UI's files, served locally
    web.init_app(app)  # /admin/: the admin web page (plain Flask, not in the API document)
    link_pages.init_app(app)  # /verify-email, /reset-password: the pages the mail links open
    for module in (auth_views, user_views, usage_views, feed_views, admin, webhook_views, key_views):
        api.register_blueprint(module.blp)


def register_errorhandlers(app: Flask) -> None:
    from app.core import errors

    errors.init_app(app)


def register_commands(app: Flask) -> None:
    # One click group per domain: flask --app wsgi users|signals|metrics ...
    from app.accounts.cli import users
    from app.feed.cli import signals
    from app.metrics.cli import metrics

    for group in (users, signals, metrics):
        app.cli.add_command(group)
