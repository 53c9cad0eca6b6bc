"""Runs last (see tests/log_hygiene.py): the whole suite's logs hold no secret."""

import logging

from tests.log_hygiene import COLLECTOR, KNOWN_SECRETS, find_leaks


def test_the_scanner_catches_what_it_should():
    jwt = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIiwianRpIjoiYWJjIn0.c2lnbmF0dXJlc2lnbmF0dXJl"
    assert find_leaks([f"auth: token {jwt}"], set())
    assert find_leaks(["x: $argon2id$v=19$m=65536,t=3,p=4$abc$def"], set())
    assert find_leaks(["x: password hunter2-secret"], {"hunter2-secret"})
    assert not find_leaks(["x: user 7 logged in"], {"hunter2-secret"})


def test_no_secret_reached_any_log_line(base_config):
    logging.getLogger("tests").info("log hygiene scan over %d lines", len(COLLECTOR.lines))
    secrets = set(KNOWN_SECRETS) | {base_config["SECRET_KEY"], base_config["JWT_SECRET_KEY"]}
    leaks = find_leaks(COLLECTOR.lines, secrets)
    assert not leaks, "secrets in log lines:\n" + "\n".join(leaks[:20])
