"""`flask --app wsgi metrics ...`"""
from __future__ import annotations

import click
from flask.cli import AppGroup

metrics = AppGroup("metrics", help="Metrics commands.")


@metrics.command("rollup")
@click.option("--include-open", is_flag=True,
              help="Also roll up the current (still open) minute; safe, just more rows updates.")
def rollup(include_open: bool) -> None:
    """Move closed minutes of request counters from Redis into SQL (exactly once)."""
    from redis.exceptions import RedisError
    from sqlalchemy.exc import SQLAlchemyError

    from app.metrics.rollup import run_rollup

    try:
        result = run_rollup(include_open=include_open)
    except RedisError as exc:
        raise click.ClickException(f"Redis is unavailable ({exc.__class__.__name__}); nothing was "
                                   "rolled up, the counters stay in Redis.") from exc
    except SQLAlchemyError as exc:
        raise click.ClickException(f"the database failed ({exc.__class__.__name__}); the claimed "
                                   "minutes stay in Redis and the next rollup commits them.") from exc
    click.echo(f"rolled up {result.batches} batch(es): {result.requests} request(s) in "
               f"{result.rows} row(s), {result.deliveries} signal(s) delivered; "
               f"{result.already_done} batch(es) were already committed")
