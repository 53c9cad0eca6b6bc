"""`flask --app wsgi metrics ...`"""

from __future__ import annotations

import click
from flask.cli import AppGroup

metrics = AppGroup("metrics", help="Metrics commands.")


@metrics.command("rollup")
@click.option(
    "--include-open",
    is_flag=True,
    help="Also roll up the current (still open) minute; safe, just more rows updates.",
)
def rollup(include_open: bool) -> None:
    """Move closed minutes of request counters from Redis into SQL (exactly once)."""
    from redis.exceptions import RedisError
    from sqlalchemy.exc import SQLAlchemyError

    from app.metrics.rollup import run_rollup

    try:
        result = run_rollup(include_open=include_open)
    except RedisError as exc:
        raise click.ClickException(
            f"Redis is unavailable ({exc.__class__.__name__}); nothing was "
            "rolled up, the counters stay in Redis."
        ) from exc
    except SQLAlchemyError as exc:
        raise click.ClickException(
            f"the database failed ({exc.__class__.__name__}); the claimed "
            "minutes stay in Redis and the next rollup commits them."
        ) from exc
    click.echo(
        f"rolled up {result.batches} batch(es): {result.requests} request(s) in "
        f"{result.rows} row(s), {result.deliveries} signal(s) delivered; "
        f"{result.already_done} batch(es) were already committed"
    )
    if result.rejected:
        click.echo(
            f"set aside {result.rejected} malformed or refused counter field(s); "
            "see `flask --app wsgi metrics rejected`"
        )


@metrics.command("rejected")
@click.option(
    "--limit",
    default=20,
    show_default=True,
    type=click.IntRange(1, 1000),
    help="How many of the most recent to show.",
)
def rejected(limit: int) -> None:
    """Show the counter fields the rollup set aside (newest first) and why."""
    from sqlalchemy import func, select

    from app.extensions import db
    from app.metrics.models import RollupRejectedRow

    total = db.session.execute(select(func.count()).select_from(RollupRejectedRow)).scalar_one()
    rows = (
        db.session.execute(
            select(RollupRejectedRow)
            .order_by(RollupRejectedRow.rejected_at.desc(), RollupRejectedRow.id.desc())
            .limit(limit)
        )
        .scalars()
        .all()
    )
    click.echo(f"{total} set-aside counter field(s) kept (the last 30 days)")
    for row in rows:
        click.echo(
            f"{row.rejected_at.isoformat()} minute {row.minute.isoformat()} "
            f"batch {row.batch_id}: {row.field!r} = {row.value!r} ({row.reason})"
        )
