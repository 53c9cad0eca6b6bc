"""Render a message from its templates and send it over the configured SMTP server."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

from flask import current_app
from flask_mailman import EmailMultiAlternatives
from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape


@dataclass(frozen=True)
class Rendered:
    subject: str
    text: str
    html: str


@cache
def _environment() -> Environment:
    # Our own environment: mail templates live in this package, HTML is
    # autoescaped, the text part is not, and a missing variable is an error.
    return Environment(
        loader=PackageLoader("app.mail", "templates"),
        autoescape=select_autoescape(enabled_extensions=("html",), default_for_string=False),
        undefined=StrictUndefined,
        keep_trailing_newline=True,
    )


def render(name: str, **context: object) -> Rendered:
    """``mail/<name>.txt`` and ``mail/<name>.html``; the subject is the text part's first line."""
    env = _environment()
    text = env.get_template(f"mail/{name}.txt").render(**context)
    subject, _, body = text.partition("\n")
    html = env.get_template(f"mail/{name}.html").render(**context)
    return Rendered(subject.removeprefix("Subject:").strip(), body.lstrip("\n"), html)


def send(to: str, message: Rendered) -> None:
    """Send now, over SMTP (raises ``smtplib.SMTPException`` / ``OSError`` on failure)."""
    email = EmailMultiAlternatives(
        subject=message.subject,
        body=message.text,
        from_email=current_app.config.get("MAIL_DEFAULT_SENDER"),
        to=[to],
    )
    email.attach_alternative(message.html, "text/html")
    email.send(fail_silently=False)
