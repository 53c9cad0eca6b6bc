"""The ``celery -A workers.celery_app`` target for both worker and beat.

Building the Flask app here (and only here) is the point of this module: the
worker needs it so every task runs inside its app context. Beat's schedule
(workers/schedule.py) is attached here too, beside the tasks it names.
"""

from app import create_app
from workers.schedule import BEAT_SCHEDULE

flask_app = create_app()
celery_app = flask_app.extensions["celery"]
celery_app.conf.beat_schedule = BEAT_SCHEDULE
