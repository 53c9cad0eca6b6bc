"""Celery bound to the Flask app, the way Flask's docs describe.

Every task runs inside ``app.app_context()``; task modules use
``@shared_task`` and never import the app. The ``-A`` target that builds the
app is ``workers.celery_app``.
"""

from __future__ import annotations

from celery import Celery, Task
from celery.signals import task_postrun
from flask import Flask, has_app_context

from app.extensions import db


def celery_init_app(app: Flask) -> Celery:
    class FlaskTask(Task):
        def __call__(self, *args, **kwargs):
            # An eager task inside a test already has the caller's context;
            # pushing a second one would give it a session that cannot see the
            # caller's uncommitted rows.
            if has_app_context():
                return self.run(*args, **kwargs)
            with app.app_context():
                return self.run(*args, **kwargs)

    celery_app = Celery(app.name, task_cls=FlaskTask)
    celery_app.config_from_object(app.config["CELERY"])
    celery_app.set_default()
    app.extensions["celery"] = celery_app
    return celery_app


@task_postrun.connect
def _remove_session(*_args, **_kwargs):
    # Give the connection back to the pool after every task, even a failed one.
    if has_app_context():
        db.session.remove()
