"""`flask --app wsgi metrics ...`"""
from __future__ import annotations

import click
from flask.cli import AppGroup

metrics = AppGroup("metrics", help="Metrics commands.")
