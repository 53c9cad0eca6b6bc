"""A real nginx front (deploy/nginx.conf) for the tests, from a temp prefix.

nginx runs from the test's own directory (pid, logs, temp files there; -p/-c,
never /etc/nginx), on free loopback ports, in the foreground in its own process
group, so a kill reaches master and workers and nothing outlives the test.
"""

from __future__ import annotations

import os
import pwd
import shutil
import socket
import time
from pathlib import Path

from deploy.render_nginx import render
from tests.conftest import free_port
from tests.hardening.servers import Proc

NGINX = shutil.which("nginx") or shutil.which("nginx", path="/usr/sbin:/usr/local/sbin")


def nginx_binary() -> str:
    # A missing nginx is a failure, not a skip: CI installs it (.ci/run).
    assert NGINX, "nginx is not installed: apt-get install -y nginx-light (.ci/run does)"
    return NGINX


class NginxFront:
    """deploy/nginx.conf rendered for loopback ports and started from ``workdir``."""

    def __init__(self, workdir: Path, alpine_upstream: str, argo_upstream: str, **settings: str):
        self.workdir = Path(workdir)
        self.alpine_port, self.argo_port = free_port(), free_port()
        self.url = f"http://127.0.0.1:{self.alpine_port}"
        self.argo_url = f"http://127.0.0.1:{self.argo_port}"
        self.conf = render(
            self.workdir,
            ALPINE_LISTEN=f"127.0.0.1:{self.alpine_port}",
            ARGO_LISTEN=f"127.0.0.1:{self.argo_port}",
            ALPINE_UPSTREAM=alpine_upstream,
            ARGO_UPSTREAM=argo_upstream,
            NGINX_WORKERS="1",
            **settings,
        )
        directives = "daemon off;"
        if os.geteuid() == 0:
            # As root, workers would drop to "nobody", who cannot enter pytest's
            # 0700 temp dirs (proxy_temp); keep them as the current user.
            directives += f" user {pwd.getpwuid(os.geteuid()).pw_name};"
        self.proc = Proc(
            [
                nginx_binary(),
                "-p",
                f"{self.workdir}/",
                "-c",
                str(self.conf),
                "-e",
                "stderr",
                "-g",
                directives,
            ],
            dict(os.environ),
            self.workdir / "nginx.log",
            cwd=self.workdir,
        )

    def start(self, timeout: float = 10) -> NginxFront:
        self.proc.start()
        deadline = time.monotonic() + timeout
        for port in (self.alpine_port, self.argo_port):
            while True:
                try:
                    socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
                    break
                except OSError:
                    assert self.proc.alive(), self.proc.log()[-3000:]
                    assert time.monotonic() < deadline, f"nginx did not listen:\n{self.proc.log()}"
                    time.sleep(0.05)
        return self

    def stop(self) -> None:
        self.proc.terminate(timeout=10)


def raw_exchange(port: int, data: bytes, timeout: float = 10) -> tuple[int, dict, bytes]:
    """Send raw bytes, read until the server closes; (status, headers, body)."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
        sock.sendall(data)
        chunks = []
        while True:
            try:
                chunk = sock.recv(65536)
            except ConnectionResetError:
                break
            if not chunk:
                break
            chunks.append(chunk)
    raw = b"".join(chunks)
    head, _, body = raw.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    assert lines and lines[0].startswith("HTTP/1."), raw[:300]
    status = int(lines[0].split()[1])
    headers = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    return status, headers, body
