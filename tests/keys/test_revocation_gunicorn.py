"""A revoked key is refused on the very next request by every gunicorn worker."""

from __future__ import annotations

import pytest
import requests

from tests.conftest import free_port
from tests.hardening.servers import alpine_gunicorn, env_with, wait_http
from tests.keys.helpers import create_key

pytestmark = pytest.mark.slow

ROUNDS = 40  # fresh connections: --reuse-port spreads them over both workers


@pytest.fixture
def gunicorn_url(app, base_config, tmp_path):
    (tmp_path / "prom").mkdir()
    port = free_port()
    proc = alpine_gunicorn(
        env_with(
            base_config,
            PROMETHEUS_MULTIPROC_DIR=tmp_path / "prom",
            GUNICORN_ACCESSLOG=tmp_path / "access.log",
            # Each access line: the worker's pid and the status.
            GUNICORN_CMD_ARGS="--access-logformat '%(p)s %(s)s %(U)s'",
        ),
        port,
        tmp_path / "alpine.log",
        workers=2,
        threads=2,
    ).start()
    url = f"http://127.0.0.1:{port}"
    try:
        wait_http(url + "/health", proc)
        yield url, tmp_path / "access.log"
    finally:
        proc.kill()


def statuses(url: str, key: str) -> list[tuple[int, str | None]]:
    out = []
    for _ in range(ROUNDS):
        with requests.Session() as s:  # a new TCP connection each time
            resp = s.get(f"{url}/api/users/me", headers={"X-API-Key": key}, timeout=30)
            code = resp.json().get("error", {}).get("code") if resp.status_code != 200 else None
            out.append((resp.status_code, code))
    return out


def workers_by_status(access_log) -> dict[str, set[str]]:
    """Which worker pids answered /api/users/me, by status."""
    out: dict[str, set[str]] = {}
    for line in access_log.read_text().splitlines():
        pid, status, path = (line.strip("<>").split() + ["", "", ""])[:3]
        if path == "/api/users/me":
            out.setdefault(status, set()).add(pid)
    return out


def test_revoked_key_is_refused_by_both_workers_on_the_next_request(client, logged_in_user, gunicorn_url):
    url, access_log = gunicorn_url
    key = create_key(client, logged_in_user, scopes=["account:read"])
    assert set(statuses(url, key["key"])) == {(200, None)}  # both workers now know the key
    resp = requests.delete(f"{url}/api/keys/{key['id']}", headers=logged_in_user.headers, timeout=30)
    assert resp.status_code == 204
    assert set(statuses(url, key["key"])) == {(401, "token_invalid")}
    seen = workers_by_status(access_log)
    assert len(seen["200"]) == 2 and seen["401"] == seen["200"], seen  # both workers, before and after
