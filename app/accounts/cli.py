"""`flask --app wsgi users ...`: operator commands, through app/accounts/users.py and admin_changes.py.

Every change goes through the same service as the API (commit, then the user's
cache entry is deleted, and an audit_log row with actor_id NULL is written).
"""

from __future__ import annotations

import click
from flask.cli import AppGroup

from app.accounts import admin_changes, user_report
from app.accounts import users as user_service
from app.accounts.rules import AccountError
from app.accounts.tiers import DEFAULT_TIER, TIER_NAMES


class _UsersGroup(AppGroup):
    """A broken account rule ends any of its commands with the rule's message (exit 1)."""

    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except AccountError as exc:
            raise click.ClickException(str(exc)) from None


users = _UsersGroup("users", help="Users commands.")


@users.command("create-admin")
@click.argument("email")
@click.option(
    "--password",
    prompt=True,
    hide_input=True,
    confirmation_prompt=True,
    help="Prompted (hidden, with confirmation) when omitted.",
)
@click.option("--full-name", default="", help="For a new user (default 'Administrator').")
def create_admin(email: str, password: str, full_name: str) -> None:
    """Create an active admin; an existing user is promoted, reactivated and given PASSWORD."""
    user, created = admin_changes.ensure_admin(email, password, full_name)
    verb = "Created admin" if created else "Promoted existing user to admin (password reset)"
    click.echo(f"{verb}: {user.email} (id {user.id})")


@users.command("create")
@click.argument("email")
@click.option(
    "--password",
    prompt=True,
    hide_input=True,
    confirmation_prompt=True,
    help="Prompted (hidden, with confirmation) when omitted.",
)
@click.option(
    "--tier",
    default=DEFAULT_TIER,
    show_default=True,
    type=click.Choice(list(TIER_NAMES)),
    help="Subscription tier.",
)
@click.option("--full-name", default="", help="The user's name.")
def create(email: str, password: str, tier: str, full_name: str) -> None:
    """Create an active plain (non-admin) user; the password must not be guessable."""
    user = user_service.create_user(email, password, full_name, tier=tier)
    click.echo(f"Created user: {user.email} (id {user.id}, tier {user.tier})")


@users.command("unlock")
@click.argument("email")
def unlock(email: str) -> None:
    """Lift every login lockout of EMAIL (every IP, and current-password checks)."""
    lifted = admin_changes.unlock(email)
    click.echo(f"{user_service.normalise_email(email)}: unlocked ({lifted} lock(s) lifted)")


@users.command("show")
@click.argument("email")
def show(email: str) -> None:
    """Show one user: tier, active, admin, lockouts, last login and API key counts."""
    user = user_service.require_by_email(email)
    for label, value in user_report.report(user):
        click.echo(f"{label + ':':<12} {value}")


@users.command("list")
def list_users() -> None:
    """Every user: id, email, tier, active, admin."""
    page, per_page = 1, 100
    click.echo(f"{'id':>6}  {'email':<40} {'tier':<8} {'active':<6} {'admin':<5}")
    while True:
        items, total = user_service.list_users(page, per_page)
        for u in items:
            click.echo(
                f"{u.id:>6}  {u.email:<40} {u.tier:<8} {'yes' if u.is_active else 'no':<6} "
                f"{'yes' if u.is_admin else 'no':<5}"
            )
        if page * per_page >= total:
            break
        page += 1
    click.echo(f"{total} user(s)")


@users.command("set-tier")
@click.argument("email")
@click.argument("tier")
def set_tier(email: str, tier: str) -> None:
    """Set a user's subscription tier (starter, pro, elite)."""
    user = admin_changes.set_tier(email, tier)
    click.echo(f"{user.email}: tier is now {user.tier}")


@users.command("deactivate")
@click.argument("email")
def deactivate(email: str) -> None:
    """Deactivate a user: refused (403 inactive_user) from their very next request."""
    user = admin_changes.deactivate(email)
    click.echo(f"{user.email}: deactivated")
