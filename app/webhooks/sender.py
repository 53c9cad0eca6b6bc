"""One HTTP POST to a checked address, redirects never followed.

urllib3 connects to ``Target.address`` (the IP ``ssrf.check_url`` approved)
while the ``Host`` header and, for https, the TLS server name and certificate
check use the host name from the URL. One connection per attempt: receivers
are many and mostly idle, and a pooled connection to an address checked
minutes ago would skip the per-delivery check.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import urllib3
from urllib3.exceptions import HTTPError

from app.webhooks.ssrf import Target

USER_AGENT = "Alpine-Webhooks/1.0"
MAX_RESPONSE_BYTES = 64 * 1024  # what we read of a receiver's answer (then drop)


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


def post(target: Target, headers: dict[str, str], body: bytes, timeout: float) -> Outcome:
    started = time.monotonic()
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
    pool = pool_cls(
        target.address,
        target.port,
        timeout=urllib3.Timeout(total=timeout),
        retries=False,
        maxsize=1,
        **kwargs,
    )
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
        try:
            response.read(MAX_RESPONSE_BYTES)
        except (HTTPError, OSError):
            pass  # the status is what counts; a broken body does not undo it
        finally:
            response.release_conn()
        return Outcome(response.status, None, _ms(started))
    except (HTTPError, OSError) as exc:
        return Outcome(None, _error_name(exc), _ms(started))
    finally:
        pool.close()


def _ms(started: float) -> int:
    return int((time.monotonic() - started) * 1000)
