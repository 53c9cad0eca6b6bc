"""Reading the links out of account mail."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

from app.mail.sink import html_part, links, text_part
from tests.log_hygiene import KNOWN_SECRETS

# Every token a test read out of a message: no log line may contain one
# (the suite's log-hygiene check scans the test process; the worker's log is checked by its test).
SEEN_TOKENS: list[str] = []


def token_of(message, path: str) -> str:
    """The token of the one ``{PUBLIC_URL}/<path>?token=...`` link on its own line."""
    found = [link for link in links(message) if urlsplit(link).path == f"/{path}"]
    assert len(found) == 1, text_part(message)
    assert found[0] in html_part(message)  # the HTML part links to the same place
    token = parse_qs(urlsplit(found[0]).query)["token"][0]
    KNOWN_SECRETS.add(token)
    SEEN_TOKENS.append(token)
    return token


def register(client, email, password="correct horse battery", full_name="Mail User"):
    resp = client.post(
        "/api/auth/register", json={"email": email, "password": password, "full_name": full_name}
    )
    assert resp.status_code == 201, resp.get_json()
    return resp.get_json()
