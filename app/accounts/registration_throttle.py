"""Registrations per source IP: ``REGISTRATION_RATE_LIMIT`` (default 10 per hour).

Parsed by config.py into ``REGISTRATION_RATE`` = (count, window seconds). Each
attempt that reaches the service is counted atomically before the account is
created (app/accounts/throttle.py); one refused for a rule of the password or
the email (422) is given back, one for an email already taken (409) is not,
so the limit also slows probing for registered addresses.
"""

from __future__ import annotations

from flask import current_app

from app.accounts import throttle
from app.accounts.throttle import Decision, Limit


def _limit(ip: str | None) -> Limit:
    count, window = current_app.config["REGISTRATION_RATE"]
    return Limit(f"alpine:reg:ip:{ip or 'unknown'}", int(count), int(window), "ip")


def begin(ip: str | None) -> Decision:
    return throttle.hit([_limit(ip)])


def give_back(ip: str | None) -> None:
    throttle.release([_limit(ip).key])
