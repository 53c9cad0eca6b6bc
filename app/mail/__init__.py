"""Outgoing mail: Flask-Mailman over SMTP, messages rendered from templates (text + HTML).

Sending happens in Celery tasks only (app/accounts/mail_outbox.py), never in a
web request: an SMTP server that is slow or down costs a request nothing.
"""

from __future__ import annotations

from flask import Flask
from flask_mailman import Mail

mail = Mail()


def init_app(app: Flask) -> None:
    # Flask-Mailman picks an in-memory backend when TESTING; we always want SMTP
    # (the tests run a real SMTP server) unless a config names another backend.
    app.config.setdefault("MAIL_BACKEND", "smtp")
    mail.init_app(app)
