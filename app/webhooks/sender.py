"""One HTTP POST to a checked address, redirects never followed.

urllib3 connects to ``Target.address`` (the IP ``ssrf.check_url`` approved)
while the ``Host`` header and, for https, the TLS server name and certificate
check use the host name from the URL. Connections are kept alive per
(scheme, checked address, port, host name) in a bounded per-process LRU of
pools: a pooled connection always goes to an address that was checked for
this very attempt, so reuse never skips the guard.
"""

from __future__ import annotations

import os
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass

import urllib3
from urllib3.exceptions import HTTPError

from app.webhooks.ssrf import Target

USER_AGENT = "Alpine-Webhooks/1.0"
MAX_RESPONSE_BYTES = 64 * 1024  # what we read of a receiver's answer (then drop)
MAX_POOLS = 512  # distinct receivers kept alive per process (least recently used dropped)
POOL_CONNECTIONS = 4  # per receiver: a batch sends one message per endpoint


class _Pools:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._pools: OrderedDict[tuple, urllib3.HTTPConnectionPool] = OrderedDict()
        self._pid = os.getpid()

    def get(self, target: Target, timeout: float) -> urllib3.HTTPConnectionPool:
        key = (target.scheme, target.address, target.port, target.host, timeout)
        with self._lock:
            if self._pid != os.getpid():  # a forked child must not share its parent's sockets
                self._pools, self._pid = OrderedDict(), os.getpid()
            pool = self._pools.get(key)
            if pool is not None:
                self._pools.move_to_end(key)
                return pool
            pool = _new_pool(target, timeout)
            self._pools[key] = pool
            while len(self._pools) > MAX_POOLS:
                _, old = self._pools.popitem(last=False)
                old.close()
            return pool

    def clear(self) -> None:
        with self._lock:
            for pool in self._pools.values():
                pool.close()
            self._pools.clear()


POOLS = _Pools()


@dataclass
class Outcome:
    status_code: int | None
    error: str | None
    duration_ms: int

    @property
    def ok(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300


def _error_name(exc: Exception) -> str:
    text = exc.__class__.__name__
    if isinstance(exc, urllib3.exceptions.TimeoutError):
        return "timeout"
    if isinstance(exc, urllib3.exceptions.SSLError):
        return "tls_error"
    if isinstance(exc, urllib3.exceptions.NewConnectionError | ConnectionError):
        return "connection_error"
    return text[:200]


def _new_pool(target: Target, timeout: float) -> urllib3.HTTPConnectionPool:
    kwargs: dict = {}
    pool_cls: type[urllib3.HTTPConnectionPool] = urllib3.HTTPConnectionPool
    if target.scheme == "https":
        import certifi

        pool_cls = urllib3.HTTPSConnectionPool
        kwargs = {
            "server_hostname": target.host,
            "assert_hostname": target.host,
            "cert_reqs": "CERT_REQUIRED",
            "ca_certs": certifi.where(),
        }
    return pool_cls(
        target.address,
        target.port,
        timeout=urllib3.Timeout(total=timeout),
        retries=False,
        maxsize=POOL_CONNECTIONS,
        **kwargs,
    )


def post(target: Target, headers: dict[str, str], body: bytes, timeout: float) -> Outcome:
    started = time.monotonic()
    pool = POOLS.get(target, timeout)
    all_headers = {
        "Host": target.host_header,
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
        **headers,
    }
    try:
        response = pool.urlopen(
            "POST",
            target.path,
            body=body,
            headers=all_headers,
            redirect=False,
            retries=False,
            preload_content=False,
            assert_same_host=False,
        )
        reusable = False
        try:
            response.read(MAX_RESPONSE_BYTES)
            reusable = response.length_remaining == 0  # the whole (declared) body was read
        except (HTTPError, OSError):
            pass  # the status is what counts; a broken body does not undo it
        finally:
            if not reusable:
                response.close()  # a connection with unread bytes must not be reused
            response.release_conn()
        return Outcome(response.status, None, _ms(started))
    except (HTTPError, OSError) as exc:
        return Outcome(None, _error_name(exc), _ms(started))


def _ms(started: float) -> int:
    return int((time.monotonic() - started) * 1000)
