"""`flask --app wsgi users ...`"""
from __future__ import annotations

import click
from flask.cli import AppGroup

users = AppGroup("users", help="Users commands.")
