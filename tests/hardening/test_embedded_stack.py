"""`./run` (``python -m embedded``) on a temporary instance: its Redis requires the generated
password and listens on loopback only, and SIGINT stops every process it started even when
it was started the way a shell starts a background job (SIGINT ignored, own session)."""

from __future__ import annotations

import json
import os
import signal
import stat
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

import psutil
import pytest
import redis

from tests.conftest import free_port

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
# Whatever the suite's environment says about services must not leak into the stack.
SCRUBBED = (
    "APP_ENV",
    "DATABASE_URL",
    "REDIS_URL",
    "SECRET_KEY",
    "JWT_SECRET_KEY",
    "ARGO_URL",
    "ARGO_DB_PATH",
    "ARGO_API_KEY",
    "PROMETHEUS_MULTIPROC_DIR",
    "INSTANCE_DIR",
    "MAIL_SERVER",
    "PUBLIC_URL",
)


def _ok(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as resp:
            return resp.status == 200
    except OSError:
        return False


def _pgid(pid: int) -> int | None:
    try:
        return os.getpgid(pid)
    except ProcessLookupError:
        return None


def _ignore_sigint() -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # what `cmd &` in a non-interactive shell does


@pytest.fixture
def stack(tmp_path):
    instance = tmp_path / "instance"
    ports = {
        "ALPINE_PORT": free_port(),
        "ARGO_PORT": free_port(),
        "EMBEDDED_REDIS_PORT": free_port(),
        "MAIL_PORT": free_port(),
    }
    env = {k: v for k, v in os.environ.items() if k not in SCRUBBED}
    env.update({k: str(v) for k, v in ports.items()}, INSTANCE_DIR=str(instance))
    log = open(tmp_path / "embedded.out", "wb")
    proc = subprocess.Popen(
        [sys.executable, "-m", "embedded"],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
        preexec_fn=_ignore_sigint,
    )
    deadline = time.monotonic() + 180
    while not _ok(f"http://127.0.0.1:{ports['ALPINE_PORT']}/ready"):
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            pytest.fail(
                "the embedded stack did not come up:\n" + (tmp_path / "embedded.out").read_text()[-3000:]
            )
        time.sleep(0.5)
    family = [psutil.Process(proc.pid), *psutil.Process(proc.pid).children(recursive=True)]
    yield proc, instance, ports, family
    for p in family:  # only if the test failed half-way: leave nothing behind
        try:
            p.kill()
        except psutil.NoSuchProcess:
            pass
    log.close()


def test_embedded_redis_requires_the_instance_password_on_loopback_and_sigint_stops_everything(stack):
    proc, instance, ports, family = stack
    port = ports["EMBEDDED_REDIS_PORT"]
    password_file = instance / "redis.password"
    assert stat.S_IMODE(password_file.stat().st_mode) == 0o600
    assert stat.S_IMODE((instance / "redis" / "redis.conf").stat().st_mode) == 0o600
    password = password_file.read_text().strip()

    with pytest.raises(redis.AuthenticationError):  # NOAUTH: no password, no access
        redis.Redis(port=port, socket_timeout=2).set("alpine:user:1", b"!pickle")
    with pytest.raises(redis.AuthenticationError):
        redis.Redis(port=port, password="guess", socket_timeout=2).ping()
    authed = redis.Redis(port=port, password=password, socket_timeout=2)
    assert authed.config_get("bind")["bind"] == "127.0.0.1"
    assert authed.config_get("protected-mode")["protected-mode"] == "yes"
    # Nobody reads the password off a command line (ps shows argv to every local user).
    assert not [p.pid for p in family if password in " ".join(p.cmdline())]
    # The generated secrets exist and are private.
    for name in ("secret_key", "jwt_secret_key"):
        assert stat.S_IMODE((instance / name).stat().st_mode) == 0o600
    names = {p.name() for p in family}
    assert len(family) >= 8, names  # launcher, redis, 2 gunicorn masters + workers, celery x2, loop

    # Each service runs in a process group of its own (the launcher's children lead them).
    groups = {p.pid for p in psutil.Process(proc.pid).children()}

    proc.send_signal(signal.SIGINT)
    assert proc.wait(timeout=40) == 0
    gone, alive = psutil.wait_procs(family[1:], timeout=5)
    assert not alive, [(p.pid, p.name()) for p in alive]
    # Also whatever those services forked after we looked (Celery's pool, gunicorn workers).
    assert not [p.pid for p in psutil.process_iter() if _pgid(p.pid) in groups]
    assert not _ok(f"http://127.0.0.1:{ports['ALPINE_PORT']}/health")


def _printed_link(out: Path, path: str, seen: int, timeout: float = 60) -> str:
    """The newest ``[mail]   http://...<path>?token=`` line ./run printed (waiting for the seen+1-th)."""
    deadline = time.monotonic() + timeout
    while True:
        lines = [
            ln.split("[mail]", 1)[1].strip() for ln in out.read_text().splitlines() if "[mail]   http" in ln
        ]
        found = [ln for ln in lines if f"{path}?token=" in ln]
        if len(found) > seen:
            return found[-1]
        assert time.monotonic() < deadline, f"no {path} link printed:\n" + out.read_text()[-3000:]
        time.sleep(0.2)


def _post(url: str, body: dict) -> tuple[int, bytes]:
    request = urllib.request.Request(
        url, data=json.dumps(body).encode(), headers={"Content-Type": "application/json"}, method="POST"
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as resp:
            return resp.status, resp.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


def test_a_newcomer_registers_clicks_the_printed_link_then_resets_the_password(stack, tmp_path):
    proc, instance, ports, _family = stack
    api = f"http://127.0.0.1:{ports['ALPINE_PORT']}"
    out = tmp_path / "embedded.out"
    email, password, new_password = "newcomer@example.com", "correct horse battery", "a new horse staple 99"

    status, _ = _post(
        f"{api}/api/auth/register", {"email": email, "password": password, "full_name": "New Comer"}
    )
    assert status == 201
    link = _printed_link(out, "/verify-email", 0)
    assert link.startswith(f"{api}/verify-email?token=")
    assert _ok(link)  # the page the link opens
    token = urllib.parse.parse_qs(urllib.parse.urlsplit(link).query)["token"][0]
    status, body = _post(f"{api}/api/auth/verify-email", {"token": token})
    assert status == 200 and json.loads(body)["is_verified"] is True
    saved = list((instance / "mail").glob("*.eml"))
    assert saved and all(stat.S_IMODE(p.stat().st_mode) == 0o600 for p in saved)

    assert _post(f"{api}/api/auth/forgot-password", {"email": email})[0] == 202
    link = _printed_link(out, "/reset-password", 0)
    token = urllib.parse.parse_qs(urllib.parse.urlsplit(link).query)["token"][0]
    assert _post(f"{api}/api/auth/reset-password", {"token": token, "new_password": new_password})[0] == 204
    assert _post(f"{api}/api/auth/login", {"email": email, "password": password})[0] == 401
    assert _post(f"{api}/api/auth/login", {"email": email, "password": new_password})[0] == 200

    proc.send_signal(signal.SIGINT)
    assert proc.wait(timeout=40) == 0
