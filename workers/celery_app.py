"""The ``celery -A workers.celery_app`` target for both worker and beat.

Building the Flask app here (and only here) is the point of this module: the
worker needs it so every task runs inside its app context.
"""

from app import create_app

flask_app = create_app()
celery_app = flask_app.extensions["celery"]
