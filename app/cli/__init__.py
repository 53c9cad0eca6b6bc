"""Operator commands: one click group per domain (``flask --app wsgi <group> ...``)."""
from __future__ import annotations

from flask import Flask


def register_commands(app: Flask) -> None:
    from app.cli.metrics import metrics
    from app.cli.signals import signals
    from app.cli.users import users

    for group in (users, metrics, signals):
        app.cli.add_command(group)
