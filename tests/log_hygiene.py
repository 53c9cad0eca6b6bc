"""A pytest plugin: no secret ever reaches a log line, across the whole suite.

Every log record emitted in the test process (INFO and up) is captured, and a
final test (moved to the very end of the run) scans them for password hashes,
JWTs, the signing secrets and the passwords the tests used. Servers a test
starts as subprocesses log to files the test itself checks.
"""

from __future__ import annotations

import logging
import re

import pytest

JWT_PATTERN = re.compile(r"eyJ[A-Za-z0-9_-]{5,}\.eyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{10,}")
HASH_PATTERN = re.compile(r"\$argon2(id|i|d)\$|\$scrypt\$|pbkdf2:sha256")

# Secrets the suite uses; tests may add more (e.g. passwords) at run time.
KNOWN_SECRETS: set[str] = set()


class _Collector(logging.Handler):
    def __init__(self) -> None:
        super().__init__(level=logging.INFO)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        try:
            text = record.getMessage()
        except Exception:  # a broken format string is not our concern here
            text = str(record.msg)
        if record.exc_info and record.exc_info[1] is not None:
            text += " " + repr(record.exc_info[1])
        self.lines.append(f"{record.name}: {text}")


COLLECTOR = _Collector()


def pytest_configure(config):
    root = logging.getLogger()
    root.addHandler(COLLECTOR)
    if root.level > logging.INFO or root.level == logging.NOTSET:
        root.setLevel(logging.INFO)


def pytest_collection_modifyitems(session, config, items):
    last = [i for i in items if i.name == "test_no_secret_reached_any_log_line"]
    for item in last:
        items.remove(item)
        items.append(item)


def find_leaks(lines, secrets) -> list[str]:
    leaks = []
    for line in lines:
        if JWT_PATTERN.search(line) or HASH_PATTERN.search(line):
            leaks.append(line)
        elif any(s and s in line for s in secrets):
            leaks.append(line)
    return leaks


@pytest.fixture
def remember_secret():
    """Tests call ``remember_secret(value)`` for passwords/tokens they create."""
    return KNOWN_SECRETS.add
