"""`flask --app wsgi signals ...`"""

from __future__ import annotations

import click
from flask.cli import AppGroup

signals = AppGroup("signals", help="Signals commands.")


@signals.command("sync")
@click.option(
    "--max-pages",
    type=click.IntRange(1, 1000),
    default=None,
    help="Pages of up to 500 signals to fetch at most (default SIGNAL_SYNC_MAX_PAGES).",
)
def sync_cmd(max_pages):
    """Copy Argo's newest verified signals into Alpine's local copy (idempotent)."""
    from app.feed.argo_client import ArgoUnavailable
    from app.feed.signal_sync import sync_signals

    try:
        result = sync_signals(max_pages=max_pages)
    except ArgoUnavailable as exc:
        raise click.ClickException(f"Argo is unavailable ({exc.reason}); nothing synced.") from None
    click.echo(
        f"synced {result.pages} page(s): fetched {result.fetched}, stored {result.stored} new, "
        f"rejected {result.rejected}"
    )
