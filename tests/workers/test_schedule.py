"""Beat's schedule lives in workers/schedule.py and reaches the Celery app beat runs."""

from __future__ import annotations

import importlib
import json
import os
import subprocess
import sys
from pathlib import Path

from config import Config
from workers import tasks
from workers.schedule import BEAT_SCHEDULE

ROOT = Path(__file__).resolve().parents[2]


def test_every_entry_names_a_registered_task():
    # Every task module the worker loads (the Celery "include" list).
    modules = [importlib.import_module(name) for name in Config.CELERY["include"]]
    assert tasks in modules
    registered = {t.name for module in modules for t in vars(module).values() if hasattr(t, "delay")}
    assert {entry["task"] for entry in BEAT_SCHEDULE.values()} <= registered
    assert all(entry["schedule"] > 0 for entry in BEAT_SCHEDULE.values())


def test_the_celery_target_beat_runs_carries_the_schedule(tmp_path):
    # The `celery -A workers.celery_app beat` target, built the way beat builds it: from the environment.
    env = {
        **os.environ,
        "APP_ENV": "development",
        "INSTANCE_DIR": str(tmp_path),
        "DATABASE_URL": f"sqlite:///{tmp_path / 'alpine.db'}",
        "REDIS_URL": "redis://127.0.0.1:6379/1",  # never connected to: building the app does not
    }
    code = "import json, workers.celery_app as w; print(json.dumps(w.celery_app.conf.beat_schedule))"
    out = subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    assert json.loads(out.stdout.strip().splitlines()[-1]) == BEAT_SCHEDULE
