"""Where a webhook may be sent: resolve the host ourselves and check every address.

``check_url`` parses the URL, resolves the host and refuses it when any of its
addresses is not public (loopback, private, link-local, multicast, reserved,
unspecified, shared, IPv4-mapped forms of those). The caller connects to
``Target.address``, the address that was checked, so a DNS answer that
changes between check and connect (rebinding) cannot redirect the request.
``allow_private`` (WEBHOOK_ALLOW_PRIVATE, the default outside production)
lets loopback through, and only loopback: a 10.x or 169.254.x receiver is
refused everywhere.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

MAX_URL_LENGTH = 2048


class Refused(Exception):
    """The URL must not be called; ``str(exc)`` is a sentence for the owner."""


@dataclass(frozen=True)
class Target:
    scheme: str
    host: str  # as written (lower case), for Host and TLS server name
    port: int
    path: str  # path and query
    address: str  # the checked IP to connect to

    @property
    def host_header(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        default = 443 if self.scheme == "https" else 80
        return host if self.port == default else f"{host}:{self.port}"


@dataclass(frozen=True)
class Parsed:
    scheme: str
    host: str
    port: int
    path: str


def parse(url: str, *, require_https: bool) -> Parsed:
    if not isinstance(url, str) or not url or len(url) > MAX_URL_LENGTH:
        raise Refused("The URL is empty or too long.")
    if any(ch.isspace() or ord(ch) < 32 for ch in url):
        raise Refused("The URL contains whitespace or control characters.")
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        raise Refused("The URL cannot be parsed.") from None
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https"):
        raise Refused("The URL must be http or https.")
    if require_https and scheme != "https":
        raise Refused("The URL must be https.")
    if parts.username is not None or parts.password is not None:
        raise Refused("The URL must not contain credentials.")
    host = (parts.hostname or "").rstrip(".").lower()
    if not host:
        raise Refused("The URL has no host.")
    path = parts.path or "/"
    if parts.query:
        path += "?" + parts.query
    return Parsed(scheme, host, port or (443 if scheme == "https" else 80), path)


def address_problem(ip: str, *, allow_private: bool) -> str | None:
    """Why this address must not be called, or None."""
    addr = ipaddress.ip_address(ip.split("%", 1)[0])  # drop an IPv6 zone id
    if isinstance(addr, ipaddress.IPv6Address) and addr.ipv4_mapped is not None:
        addr = addr.ipv4_mapped
    if addr.is_loopback:
        return None if allow_private else "loopback"
    if addr.is_multicast:
        return "multicast"
    if addr.is_link_local:
        return "link-local"
    if addr.is_unspecified or addr.is_reserved:
        return "reserved"
    if addr.is_private or not addr.is_global:
        return "private"
    return None


def resolve(host: str, port: int) -> list[str]:
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError, OSError):
        raise Refused("The host name does not resolve.") from None
    addresses = list(dict.fromkeys(str(info[4][0]) for info in infos))
    if not addresses:
        raise Refused("The host name does not resolve.")
    return addresses


def check_url(url: str, *, allow_private: bool, require_https: bool) -> Target:
    """The checked target, or ``Refused``. Resolves DNS: call it off the request path
    where possible (delivery), or accept one lookup (endpoint create/update)."""
    parsed = parse(url, require_https=require_https)
    addresses = resolve(parsed.host, parsed.port)
    for ip in addresses:
        problem = address_problem(ip, allow_private=allow_private)
        if problem:
            raise Refused(f"The host resolves to a {problem} address; webhooks go to public addresses only.")
    return Target(parsed.scheme, parsed.host, parsed.port, parsed.path, addresses[0])


def check_from_config(url: str, config: Mapping[str, Any]) -> Target:
    return check_url(
        url,
        allow_private=bool(config["WEBHOOK_ALLOW_PRIVATE"]),
        require_https=bool(config["WEBHOOK_REQUIRE_HTTPS"]),
    )
