"""Fixtures for the feed tests: the feed fixtures (tests/feed_fixtures.py)
plus Argo under gunicorn, which keeps connections alive so reuse can be observed."""

from __future__ import annotations

import pytest

from tests.feed_fixtures import argo, feed_app, tier_headers  # noqa: F401


class GunicornArgo:
    """Argo under gunicorn in a subprocess -- unlike werkzeug's test server
    (which answers ``Connection: close`` to everything), it keeps connections
    alive, so connection reuse can be observed. Every request's client port
    goes to the access log: one distinct port = one TCP connection."""

    def __init__(self, tmp_path, signals) -> None:
        import os
        import subprocess
        import sys
        from pathlib import Path

        from argo_app import create_app as create_argo
        from tests.conftest import free_port

        db_path = str(tmp_path / "argo-gunicorn.db")
        seeding = create_argo({"ARGO_DB_PATH": db_path})
        seeding.extensions["argo_store"].insert_many(signals)
        seeding.extensions["argo_store"].close_all()
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.access_log = tmp_path / "argo-access.log"
        root = Path(__file__).resolve().parents[2]
        argv = [
            str(Path(sys.executable).with_name("gunicorn")),
            "-k",
            "gthread",
            "-w",
            "1",
            "--threads",
            "4",
            "--bind",
            f"127.0.0.1:{self.port}",
            "--keep-alive",
            "5",
            "--access-logfile",
            str(self.access_log),
            "--access-logformat",
            "%({remote_port}e)s %(U)s",
            "argo_app:create_app()",
        ]
        env = {**os.environ, "ARGO_DB_PATH": db_path, "PYTHONPATH": str(root)}
        self.proc = subprocess.Popen(
            argv,
            cwd=root,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        self._wait_ready()

    def _wait_ready(self) -> None:
        import time
        import urllib.request

        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(self.url + "/health", timeout=0.5):
                    return
            except OSError:
                time.sleep(0.1)
        self.stop()
        raise RuntimeError("gunicorn Argo did not start")

    def ports(self, path_prefix: str = "/api/") -> list[str]:
        """Client ports of the logged requests to ``path_prefix`` (one per request)."""
        import time

        time.sleep(0.1)  # let the access log catch up
        lines = self.access_log.read_text().split("\n") if self.access_log.exists() else []
        return [ln.split()[0] for ln in lines if ln.strip() and ln.split()[1].startswith(path_prefix)]

    def stop(self) -> None:
        import os
        import signal

        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            self.proc.wait(timeout=20)


@pytest.fixture
def argo_gunicorn(tmp_path):
    from tests.feed_helpers import crafted

    server = GunicornArgo(tmp_path, crafted(40, premium_every=4))
    yield server
    server.stop()
