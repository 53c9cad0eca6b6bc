"""Alpine's client for Argo.

One ``requests.Session`` per process, created lazily after fork (gunicorn
workers must not share the parent's sockets).
"""
from __future__ import annotations

import logging
import os
import threading

import requests
from flask import current_app

log = logging.getLogger(__name__)


class ArgoClient:
    def __init__(self) -> None:
        self._session: requests.Session | None = None
        self._pid: int | None = None
        self._lock = threading.Lock()

    @property
    def session(self) -> requests.Session:
        if self._session is None or self._pid != os.getpid():
            with self._lock:
                if self._session is None or self._pid != os.getpid():
                    self._session = requests.Session()
                    self._pid = os.getpid()
        return self._session

    @staticmethod
    def _url(path: str) -> str:
        return current_app.config["ARGO_URL"].rstrip("/") + path

    def is_healthy(self) -> bool:
        try:
            resp = self.session.get(self._url("/health"), timeout=(0.5, 1.0))
            return resp.status_code == 200
        except requests.RequestException as exc:
            log.warning("argo health check failed: %s", exc.__class__.__name__)
            return False


argo_client = ArgoClient()
