"""The production front: a real nginx (deploy/nginx.conf) before a real gunicorn.

gunicorn's gthread workers read a request in a worker thread, so clients that
trickle their body hold every thread; nginx buffers headers and bodies and
hands gunicorn complete requests only. nginx's own errors (garbage, oversize
body/line/header, slow client, upstream down or silent) are the apps' JSON
envelope, and the apps' own answers pass through untouched.
"""

from __future__ import annotations

import socket
import threading
import time

import pytest
import requests
from sqlalchemy import select

from argo_app import create_app as create_argo
from tests.conftest import ServerThread, free_port
from tests.hardening.helpers import assert_envelope, table_counts
from tests.hardening.nginx_front import NginxFront, raw_exchange
from tests.hardening.servers import alpine_gunicorn, env_with, wait_http

pytestmark = pytest.mark.slow

TRICKLERS = 50


@pytest.fixture(scope="module")
def stack(tmp_path_factory, base_config, _schema):
    """gunicorn Alpine (2 workers x 3 threads, PostgreSQL) + in-process Argo + nginx in front."""
    tmp = tmp_path_factory.mktemp("front")
    argo = ServerThread(create_argo({"ARGO_DB_PATH": str(tmp / "argo.db"), "TESTING": True})).start()
    (tmp / "prom").mkdir()
    port = free_port()
    alpine = alpine_gunicorn(
        env_with(base_config, PROMETHEUS_MULTIPROC_DIR=tmp / "prom", TRUSTED_PROXY_HOPS=1),
        port,
        tmp / "alpine.log",
    ).start()
    front = None
    try:
        wait_http(f"http://127.0.0.1:{port}/health", alpine)
        (tmp / "nginx").mkdir()
        front = NginxFront(tmp / "nginx", f"127.0.0.1:{port}", f"127.0.0.1:{argo.port}").start()
        front.gunicorn_url = f"http://127.0.0.1:{port}"
        front.gunicorn_port = port
        front.alpine = alpine
        yield front
    finally:
        if front is not None:
            front.stop()
        alpine.terminate()
        argo.stop()


class Tricklers:
    """Sockets that send a POST's headers, then one byte of body a second."""

    def __init__(self, port: int, count: int = TRICKLERS):
        head = (
            b"POST /api/auth/login HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            b"Content-Type: application/json\r\nContent-Length: 1000\r\n\r\n"
        )
        self.socks = []
        for _ in range(count):
            sock = socket.create_connection(("127.0.0.1", port), timeout=5)
            sock.sendall(head)
            self.socks.append(sock)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._drip, daemon=True)
        self._thread.start()

    def _drip(self):
        while not self._stop.wait(1.0):
            for sock in self.socks:
                try:
                    sock.sendall(b" ")
                except OSError:
                    pass

    def close(self):
        self._stop.set()
        self._thread.join(5)
        for sock in self.socks:
            sock.close()


def slowest_health(url: str, seconds: float, timeout: float = 5.0) -> float:
    """Worst /health time (fresh connection each) over ``seconds``; a timeout counts as ``timeout``."""
    worst = 0.0
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        started = time.monotonic()
        try:
            resp = requests.get(url + "/health", timeout=timeout)
            assert resp.status_code == 200 and resp.json() == {"status": "ok"}, resp.text[:300]
            worst = max(worst, time.monotonic() - started)
        except requests.Timeout:
            worst = max(worst, timeout)
        time.sleep(0.2)
    return worst


def test_fifty_trickling_clients_never_delay_health_through_the_front(stack):
    tricklers = Tricklers(stack.alpine_port)
    try:
        time.sleep(1.0)  # every trickler has sent its headers and a byte
        assert slowest_health(stack.url, seconds=6) < 1.0
    finally:
        tricklers.close()


def test_gunicorn_alone_is_stalled_by_the_same_clients(stack):
    # Why the front exists: the same 50 sockets straight at gunicorn hold its threads.
    tricklers = Tricklers(stack.gunicorn_port)
    try:
        time.sleep(1.0)
        assert slowest_health(stack.gunicorn_url, seconds=2, timeout=3) >= 1.0
    finally:
        tricklers.close()
    wait_http(stack.gunicorn_url + "/health", stack.alpine)


def test_the_front_proxies_alpine_and_argo(stack):
    resp = requests.get(stack.url + "/api/users/me", timeout=5)
    assert_envelope(resp, 401, "token_missing")  # Alpine's own error, untouched
    resp = requests.get(stack.argo_url + "/health", timeout=5)
    assert resp.status_code == 200, resp.text[:300]
    assert_envelope(requests.get(stack.argo_url + "/nope", timeout=5), 404, "not_found")  # Argo's


def test_body_over_64_kib_is_413_json_and_creates_nothing(stack, app):
    before = table_counts(app)
    body = (
        b'{"email": "big@example.com", "password": "correct horse battery", "full_name": "'
        + b"x" * (65 * 1024)
        + b'"}'
    )
    resp = requests.post(
        stack.url + "/api/auth/register", data=body, headers={"Content-Type": "application/json"}, timeout=10
    )
    assert_envelope(resp, 413, "payload_too_large")
    assert table_counts(app) == before


def test_request_line_over_8_kib_is_414_json(stack):
    resp = requests.get(stack.url + "/health?pad=" + "a" * 9000, timeout=5)
    assert_envelope(resp, 414, "uri_too_long")


def test_header_over_8_kib_is_431_json(stack):
    resp = requests.get(stack.url + "/health", headers={"X-Pad": "a" * 9000}, timeout=5)
    assert_envelope(resp, 431, "request_header_fields_too_large")


@pytest.mark.parametrize(
    "garbage",
    [
        b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03garbage\r\n\r\n",  # TLS hello on plain HTTP
        b"GET /health HTTP/1.1\r\nHost: a\r\nContent-Length: -5\r\n\r\n",
        b"GET /health HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n",
    ],
)
def test_garbage_requests_are_400_json(stack, garbage):
    status, headers, body = raw_exchange(stack.alpine_port, garbage)
    assert status == 400, body[:300]
    assert headers["content-type"].startswith("application/json"), headers
    assert b'"code": "bad_request"' in body, body[:300]


def test_request_line_of_4_4_kb_reaches_the_app_through_gunicorn(stack):
    # gunicorn's default 4094-byte line limit answered this in HTML.
    for url in (stack.gunicorn_url, stack.url):
        resp = requests.get(url + "/api/users/me?pad=" + "a" * 4400, timeout=5)
        assert_envelope(resp, 401, "token_missing")
        resp = requests.get(url + "/health?pad=" + "a" * 4400, timeout=5)
        assert resp.status_code == 200 and resp.json() == {"status": "ok"}


def test_alpine_sees_the_client_address_nginx_saw(stack, app):
    from app.accounts.security_models import FailedLogin

    bad = {"email": "nobody@example.com", "password": "wrong password 123"}
    # nginx appends the address it saw (loopback here) to what the client sent: a spoofed
    # X-Forwarded-For is not believed...
    resp = requests.post(
        stack.url + "/api/auth/login", json=bad, headers={"X-Forwarded-For": "203.0.113.9"}, timeout=5
    )
    assert_envelope(resp, 401)
    # ...while what the one trusted proxy (TRUSTED_PROXY_HOPS=1) says is.
    resp = requests.post(
        stack.gunicorn_url + "/api/auth/login",
        json=bad,
        headers={"X-Forwarded-For": "198.51.100.7"},
        timeout=5,
    )
    assert_envelope(resp, 401)
    from app.extensions import db

    with app.app_context():
        ips = sorted(db.session.execute(select(FailedLogin.ip)).scalars())
    assert ips == ["127.0.0.1", "198.51.100.7"]


# -- nginx's errors about the upstream and slow clients -------------------------------
@pytest.fixture(scope="module")
def broken_front(tmp_path_factory):
    """Alpine's upstream accepts and never answers; Argo's is not listening."""
    tmp = tmp_path_factory.mktemp("broken-front")
    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen(64)
    front = NginxFront(
        tmp,
        f"127.0.0.1:{silent.getsockname()[1]}",
        f"127.0.0.1:{free_port()}",
        CLIENT_TIMEOUT="1s",
        PROXY_READ_TIMEOUT="1s",
    ).start()
    yield front
    front.stop()
    silent.close()


def test_upstream_down_is_502_json(broken_front):
    assert_envelope(requests.get(broken_front.argo_url + "/health", timeout=10), 502, "bad_gateway")


def test_upstream_silent_is_504_json(broken_front):
    assert_envelope(requests.get(broken_front.url + "/health", timeout=10), 504, "gateway_timeout")


@pytest.mark.parametrize(
    "stalled",
    [
        b"GET /health HTTP/1.1\r\nHost: a\r\n",  # headers never finished
        b"POST /api/auth/login HTTP/1.1\r\nHost: a\r\nContent-Length: 100\r\n\r\n{",  # body never finished
    ],
)
def test_a_client_that_stalls_is_dropped_after_the_client_timeout(broken_front, stalled):
    # nginx does not answer a client that stopped sending (it closes the
    # connection: no 408 page, HTML or otherwise), and the upstream never sees it.
    started = time.monotonic()
    with socket.create_connection(("127.0.0.1", broken_front.alpine_port), timeout=10) as sock:
        sock.sendall(stalled)
        try:
            received = sock.recv(65536)
        except ConnectionResetError:
            received = b""
    assert received == b""
    assert time.monotonic() - started < 5  # CLIENT_TIMEOUT is 1 s here


def test_the_error_pages_are_not_reachable_from_outside(stack):
    assert_envelope(requests.get(stack.url + "/_front_error/502", timeout=5), 404, "not_found")


def test_the_shipped_config_is_the_template_with_its_defaults(tmp_path):
    from deploy.render_nginx import HERE, render

    assert render(tmp_path).read_text() == (HERE / "nginx.conf").read_text(), (
        "deploy/nginx.conf is stale: run python deploy/render_nginx.py"
    )
