"""Alpine's client for Argo: one pooled ``requests.Session`` per process.

Why each piece is here (requests / urllib3 under gunicorn):

* The session (and its connection pool) is created lazily on first use and
  re-created when the process id changes, so gunicorn workers forked after
  ``preload_app`` never share the parent's sockets. It lives in
  ``app.extensions`` (one app per process in production; a test that builds a
  new app with other settings gets a new client).
* ``HTTPAdapter(pool_maxsize=ARGO_POOL_MAXSIZE, pool_block=True)``: keep-alive
  connections are reused across requests and threads; ``pool_maxsize`` must be
  >= the gunicorn threads (else "Connection pool is full, discarding
  connection"), and ``pool_block`` bounds what one worker can open to Argo.
* urllib3 ``Retry`` on idempotent GETs only: connect errors, a kept-alive
  connection the server already closed, and 502/503/504, ``ARGO_RETRY_TOTAL``
  times with a small backoff. A *read timeout* is not retried: Argo is slow,
  retrying would multiply the wait; the feed answers from its local copy.
* Every call has a ``(connect, read)`` timeout; requests has none by default.
* A circuit breaker (``circuit_breaker.py``): after ``ARGO_BREAKER_FAILURES``
  consecutive failures Argo is not called for ``ARGO_BREAKER_RESET_SECONDS``,
  then one half-open trial decides.
* ``trust_env = False``: Argo is an internal service; this skips the proxy /
  ``.netrc`` lookups requests would do on every call. TLS trust comes from
  ``ARGO_CA_BUNDLE`` (default: the system store).

``ARGO_CLIENT_POOLED = False`` is for the benchmark and tests only: every call
then opens and closes its own connection (the seed's "new client per
request"), with the same timeouts, headers, breaker and verification, so the
comparison isolates connection reuse.

/ready (``is_healthy``) uses the same pooled session with its own short
timeout but neither consults nor feeds the breaker: readiness must report what
Argo is doing now (even while the breaker is open), and a probe must never be
what opens the breaker in front of the feed.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from dataclasses import dataclass

import orjson
import requests
from flask import current_app
from requests.adapters import HTTPAdapter
from urllib3.exceptions import ReadTimeoutError
from urllib3.util.retry import Retry

from app.core.circuit_breaker import STATE_VALUES, CircuitBreaker
from app.feed.feed_metrics import ARGO_BREAKER_STATE, ARGO_FAILURES, ARGO_REQUEST_SECONDS, ARGO_SHORT_CIRCUITS

log = logging.getLogger(__name__)

RETRY_STATUSES = (502, 503, 504)


class ArgoUnavailable(Exception):
    """Argo could not answer usefully (down, slow, 5xx, garbage, breaker open)."""

    def __init__(self, reason: str, detail: str = "") -> None:
        super().__init__(f"argo unavailable: {reason}{': ' + detail if detail else ''}")
        self.reason = reason


class _GetRetry(Retry):
    """Retry connect errors, dropped keep-alive connections and 502/503/504 --
    but not a read timeout (see the module docstring)."""

    def increment(self, method=None, url=None, response=None, error=None, _pool=None, _stacktrace=None):
        if isinstance(error, ReadTimeoutError):
            raise error
        return super().increment(
            method, url, response=response, error=error, _pool=_pool, _stacktrace=_stacktrace
        )


@dataclass(frozen=True)
class _Settings:
    base_url: str
    api_key: str | None
    pooled: bool
    pool_connections: int
    pool_maxsize: int
    timeout: tuple[float, float]
    health_timeout: float
    retry_total: int
    retry_backoff: float
    breaker_failures: int
    breaker_reset: float
    verify: str | bool

    @classmethod
    def from_config(cls, config) -> _Settings:
        return cls(
            base_url=config["ARGO_URL"].rstrip("/"),
            api_key=config.get("ARGO_API_KEY") or None,
            pooled=bool(config.get("ARGO_CLIENT_POOLED", True)),
            pool_connections=int(config.get("ARGO_POOL_CONNECTIONS", 2)),
            pool_maxsize=int(config.get("ARGO_POOL_MAXSIZE", 8)),
            timeout=(
                float(config.get("ARGO_CONNECT_TIMEOUT", 0.5)),
                float(config.get("ARGO_READ_TIMEOUT", 2.0)),
            ),
            health_timeout=float(config.get("ARGO_HEALTH_TIMEOUT", 0.5)),
            retry_total=int(config.get("ARGO_RETRY_TOTAL", 2)),
            retry_backoff=float(config.get("ARGO_RETRY_BACKOFF", 0.1)),
            breaker_failures=int(config.get("ARGO_BREAKER_FAILURES", 5)),
            breaker_reset=float(config.get("ARGO_BREAKER_RESET_SECONDS", 10.0)),
            verify=config.get("ARGO_CA_BUNDLE") or True,
        )


def _new_session(settings: _Settings, adapter: HTTPAdapter | None) -> requests.Session:
    session = requests.Session()
    session.trust_env = False
    session.verify = settings.verify
    session.headers.update({"Accept": "application/json"})
    if settings.api_key:
        session.headers["X-API-Key"] = settings.api_key
    if adapter is not None:
        session.mount("http://", adapter)
        session.mount("https://", adapter)
    return session


def _breaker_gauge(state: str) -> None:
    ARGO_BREAKER_STATE.set(STATE_VALUES[state])


class _ProcessClient:
    """What one process holds: the pooled session and the breaker."""

    def __init__(self, settings: _Settings) -> None:
        self.settings = settings
        self.pid = os.getpid()
        retry = _GetRetry(
            total=settings.retry_total,
            connect=settings.retry_total,
            read=settings.retry_total,
            status=settings.retry_total,
            other=0,
            backoff_factor=settings.retry_backoff,
            status_forcelist=RETRY_STATUSES,
            allowed_methods=frozenset({"GET", "HEAD"}),
            raise_on_status=False,
            respect_retry_after_header=False,
        )
        self.adapter = HTTPAdapter(
            pool_connections=settings.pool_connections,
            pool_maxsize=settings.pool_maxsize,
            pool_block=True,
            max_retries=retry,
        )
        self.session = _new_session(settings, self.adapter)
        self.breaker = CircuitBreaker(
            settings.breaker_failures, settings.breaker_reset, on_state_change=_breaker_gauge
        )

    def get(self, url: str, params: dict | None, timeout, headers: dict | None = None) -> requests.Response:
        if self.settings.pooled:
            return self.session.get(url, params=params, timeout=timeout, headers=headers)
        # Bench/test only: the naive way, a connection opened and closed per call.
        with _new_session(self.settings, None) as one_off:
            return one_off.get(
                url, params=params, timeout=timeout, headers={**(headers or {}), "Connection": "close"}
            )


class ArgoClient:
    """Process-wide facade; the state is per (app, process id)."""

    EXTENSION_KEY = "argo_client"

    def __init__(self) -> None:
        self._lock = threading.Lock()

    def _client(self) -> _ProcessClient:
        extensions = current_app.extensions
        client = extensions.get(self.EXTENSION_KEY)
        if client is None or client.pid != os.getpid():
            with self._lock:
                client = extensions.get(self.EXTENSION_KEY)
                if client is None or client.pid != os.getpid():
                    client = _ProcessClient(_Settings.from_config(current_app.config))
                    extensions[self.EXTENSION_KEY] = client
        return client

    @property
    def session(self) -> requests.Session:
        return self._client().session

    @property
    def breaker(self) -> CircuitBreaker:
        return self._client().breaker

    # -- calls ---------------------------------------------------------------
    def get_json(self, path: str, params: dict | None = None, *, endpoint: str = "other"):
        """GET ``path`` on Argo and return the parsed JSON; ArgoUnavailable otherwise."""
        client = self._client()
        if not client.breaker.allow():
            ARGO_SHORT_CIRCUITS.inc()
            raise ArgoUnavailable("breaker_open")
        url = client.settings.base_url + path
        started = time.perf_counter()
        try:
            resp = client.get(url, params, client.settings.timeout)
        except requests.Timeout as exc:
            self._failed(client, "timeout", exc)
        except requests.RequestException as exc:
            self._failed(client, "connect", exc)
        finally:
            ARGO_REQUEST_SECONDS.labels(endpoint).observe(time.perf_counter() - started)
        if resp.status_code >= 500:
            self._failed(client, "status", f"HTTP {resp.status_code}")
        if resp.status_code != 200:
            # Argo is up but refused us (bad key, bad parameter): not an outage,
            # so the breaker is not fed; the feed still falls back to its copy.
            client.breaker.record_success()
            ARGO_FAILURES.labels("status").inc()
            log.warning("argo answered HTTP %s for %s", resp.status_code, path)
            raise ArgoUnavailable("status", f"HTTP {resp.status_code}")
        try:
            data = orjson.loads(resp.content)
        except orjson.JSONDecodeError as exc:
            self._failed(client, "invalid_response", exc)
        client.breaker.record_success()
        return data

    @staticmethod
    def _failed(client: _ProcessClient, reason: str, exc) -> None:
        client.breaker.record_failure()
        ARGO_FAILURES.labels(reason).inc()
        detail = exc if isinstance(exc, str) else exc.__class__.__name__
        log.warning("argo call failed (%s): %s", reason, detail)
        raise ArgoUnavailable(reason, str(detail))

    def latest(
        self,
        *,
        limit: int,
        offset: int = 0,
        premium_only: bool = False,
        symbol: str | None = None,
        min_confidence: float | None = None,
    ) -> list:
        """Argo's ``GET /api/signals/latest``: raw (unverified) signal dicts, newest first."""
        params: dict = {"limit": limit, "offset": offset}
        if premium_only:
            params["premium_only"] = "true"
        if symbol:
            params["symbol"] = symbol
        if min_confidence is not None:
            params["min_confidence"] = min_confidence
        data = self.get_json("/api/signals/latest", params, endpoint="latest")
        if not isinstance(data, list):
            self._failed(self._client(), "invalid_response", "not a JSON array")
        return data

    def poll_latest(self, *, limit: int, offset: int, etag: str | None) -> tuple[list | None, str | None]:
        """The feed window's conditional poll: ``(signals, etag)``, or ``(None, etag)``
        when Argo answers 304 (nothing new since ``etag``).

        The breaker is not consulted (the poller must notice Argo's return
        within a poll, not after the breaker's reset) and not fed by a failure
        (the requests that fall back to Argo feed it); a success closes it.
        Raises ``ArgoUnavailable``.
        """
        client = self._client()
        params = {"limit": limit, "offset": offset}
        headers = {"If-None-Match": etag} if etag else None
        started = time.perf_counter()
        try:
            resp = client.get(
                client.settings.base_url + "/api/signals/latest", params, client.settings.timeout, headers
            )
        except requests.RequestException as exc:
            raise ArgoUnavailable("timeout" if isinstance(exc, requests.Timeout) else "connect") from None
        finally:
            ARGO_REQUEST_SECONDS.labels("poll").observe(time.perf_counter() - started)
        if resp.status_code == 304:
            client.breaker.record_success()
            return None, resp.headers.get("ETag") or etag
        if resp.status_code != 200:
            raise ArgoUnavailable("status", f"HTTP {resp.status_code}")
        try:
            data = orjson.loads(resp.content)
        except orjson.JSONDecodeError:
            raise ArgoUnavailable("invalid_response") from None
        if not isinstance(data, list):
            raise ArgoUnavailable("invalid_response", "not a JSON array")
        client.breaker.record_success()
        return data, resp.headers.get("ETag")

    def is_healthy(self) -> bool:
        """/ready's probe: Argo's /health through the pooled session, short
        timeout, breaker neither consulted nor fed (see the module docstring)."""
        client = self._client()
        timeout = client.settings.health_timeout
        try:
            resp = client.get(client.settings.base_url + "/health", None, (timeout, timeout))
            return resp.status_code == 200
        except requests.RequestException as exc:
            log.warning("argo health check failed: %s", exc.__class__.__name__)
            return False


argo_client = ArgoClient()
