"""Argo: generates trading signals and serves them from its own SQLite store.

gunicorn -k gthread -w 2 --threads 4 -b 127.0.0.1:5001 'argo_app:create_app()'
flask --app argo_app signals generate --count 500 --seed 1
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:  # importing argo_app (e.g. for argo_app.integrity) must stay light
    from flask import Flask


def create_app(config: dict | None = None) -> Flask:
    """Build the Argo app. Opens no connection that outlives this call."""
    from httpkit import docs as http_docs
    from httpkit import methods as http_methods
    from httpkit import security as http_security
    from httpkit.errors import Api, register_error_handlers

    from . import auth, cli, ops, views
    from .flask_app import ArgoFlask
    from .settings import load_config
    from .store import SignalStore

    app = ArgoFlask(__name__)  # Flask, with ensure_sync remembered per function
    app.config.update(load_config(config))

    store = SignalStore(app.config["ARGO_DB_PATH"])
    store.init_schema()
    app.extensions["argo_store"] = store

    http_methods.init_app(app)  # the first before_request hook: 405 before the API key check
    api = Api(app)
    api.register_blueprint(ops.blp)
    api.register_blueprint(views.blp)
    http_docs.init_app(app)  # /docs/assets/: Swagger UI's files, served locally
    register_error_handlers(app)
    http_security.init_app(app)  # security headers; CORS only if CORS_ORIGINS is set
    auth.install_api_key_check(app)

    app.cli.add_command(cli.signals)
    return app
