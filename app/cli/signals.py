"""`flask --app wsgi signals ...`"""
from __future__ import annotations

import click
from flask.cli import AppGroup

signals = AppGroup("signals", help="Signals commands.")
