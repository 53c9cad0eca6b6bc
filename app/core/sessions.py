"""No cookie sessions: Alpine is a bearer-token JSON API.

Flask's default session interface builds an itsdangerous signer and parses the
cookie header on every request (~15 us here) for a ``session`` nothing reads.
"""

from __future__ import annotations

from flask import Flask
from flask.sessions import SessionInterface


class NoCookieSessions(SessionInterface):
    def open_session(self, app, request):
        return None  # Flask then uses its NullSession: writes to it raise

    def save_session(self, app, session, response):
        return None


def init_app(app: Flask) -> None:
    app.session_interface = NoCookieSessions()
