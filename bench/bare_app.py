"""The ceiling: a bare Flask JSON endpoint, served with the same gunicorn settings."""

from flask import Flask


def create_app() -> Flask:
    app = Flask(__name__)

    @app.get("/health")
    def health():
        return {"status": "ok"}

    @app.get("/bare")
    def bare():
        return {"status": "ok"}

    return app
