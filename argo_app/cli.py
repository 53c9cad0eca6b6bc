"""Operator commands: ``flask --app argo_app signals ...``.

  generate [--count N] [--seed S] [--symbols A,B] [--end ISO|now]
  import-csv PATH          (a .csv file or a directory of them; see generator/csv_bars.py)
  stats
  loop [--interval 5] [--seed S] [--symbols A,B] [--iterations N]

``loop`` is how the demo keeps generating: a plain long-running process the
demo launcher starts next to Argo's web server. We chose this over a Celery beat
task because Argo has no broker of its own and must keep working when Alpine's
Redis/Celery are down; a loop process is one less moving part.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime

import click
from flask import current_app
from flask.cli import with_appcontext

CHECKPOINT_EVERY_TICKS = 60  # the loop truncates the WAL every N ticks


def _store():
    return current_app.extensions["argo_store"]


def _symbols(value: str | None):
    from httpkit.schemas import SYMBOL_RE

    from .generator.engine import DEFAULT_SYMBOLS

    if not value:
        return DEFAULT_SYMBOLS
    symbols = [s.strip().upper() for s in value.split(",") if s.strip()]
    bad = [s for s in symbols if not SYMBOL_RE.match(s)]
    if not symbols or bad:
        raise click.BadParameter(f"invalid symbol(s): {', '.join(bad) or value!r}", param_hint="--symbols")
    return symbols


def _end(value: str | None) -> datetime | None:
    if value is None:
        return None
    if value == "now":
        return datetime.now(UTC).replace(microsecond=0)
    try:
        when = datetime.fromisoformat(value)
    except ValueError:
        raise click.BadParameter(f"{value!r} is not an ISO 8601 time or 'now'", param_hint="--end") from None
    return (when if when.tzinfo else when.replace(tzinfo=UTC)).astimezone(UTC)


@click.group("signals")
def signals():
    """Generate, import and inspect Argo's signals."""


@signals.command("generate")
@click.option("--count", default=500, show_default=True, type=click.IntRange(1, 1_000_000))
@click.option("--seed", default=0, show_default=True, type=int, help="Same seed -> same signals.")
@click.option("--symbols", default=None, help="Comma-separated, e.g. AAPL,MSFT (default: 8 demo symbols).")
@click.option(
    "--end",
    "end",
    default=None,
    help="Time of the last synthetic bar (ISO 8601 UTC, or 'now'). "
    "Default: a fixed anchor, 2026-01-05T16:00:00Z, so runs are reproducible.",
)
@with_appcontext
def generate_cmd(count, seed, symbols, end):
    """Generate COUNT signals from a seeded synthetic market and store them."""
    from .generator import engine

    found = engine.generate(count, seed, _symbols(symbols), _end(end) or engine.DEFAULT_END)
    inserted = _store().insert_many(found)
    premium = sum(s["confidence"] >= 95 for s in found)
    click.echo(
        f"generated {len(found)} signals ({premium} premium), stored {inserted} new "
        f"(duplicates ignored) in {current_app.config['ARGO_DB_PATH']}"
    )


@signals.command("import-csv")
@click.argument("path", type=click.Path(exists=True, dir_okay=True))
@with_appcontext
def import_csv_cmd(path):
    """Score OHLCV bars from PATH (a CSV file or a directory of them) and store the signals."""
    from .generator.csv_bars import CSVFormatError, read_path
    from .generator.engine import signals_from_bars

    try:
        all_bars = read_path(path)
    except CSVFormatError as exc:
        raise click.ClickException(str(exc)) from None
    total_new = 0
    for bars in all_bars:
        found = signals_from_bars(bars)
        new = _store().insert_many(found)
        total_new += new
        click.echo(f"{bars.symbol}: {len(bars)} bars -> {len(found)} signals ({new} new)")
    click.echo(f"imported {total_new} new signals")


@signals.command("stats")
@with_appcontext
def stats_cmd():
    """Counts, premium share and the newest timestamp."""
    s = _store().stats()
    click.echo(f"total: {s['total']}")
    click.echo(f"premium (confidence >= 95): {s['premium']} ({s['premium_share']:.1%})")
    click.echo(f"newest: {s['newest_timestamp'] or '-'}")
    click.echo(f"oldest: {s['oldest_timestamp'] or '-'}")
    for symbol, n in s["by_symbol"].items():
        click.echo(f"  {symbol}: {n}")


@signals.command("loop")
@click.option(
    "--interval",
    default=5.0,
    show_default=True,
    type=click.FloatRange(0.01, 3600),
    help="Seconds between ticks.",
)
@click.option("--seed", default=None, type=int, help="Default: the current time.")
@click.option("--symbols", default=None)
@click.option("--iterations", default=0, type=click.IntRange(0), help="Stop after N ticks (0 = forever).")
@with_appcontext
def loop_cmd(interval, seed, symbols, iterations):
    """Keep generating fresh signals (one synthetic bar per symbol per tick)."""
    from .generator.engine import LiveFeed

    store = _store()
    feed = LiveFeed(_symbols(symbols), seed if seed is not None else int(time.time()))
    click.echo(f"generating every {interval}s into {current_app.config['ARGO_DB_PATH']} (Ctrl-C stops)")
    tick = 0
    try:
        while iterations == 0 or tick < iterations:
            started = time.monotonic()
            found = feed.tick()
            new = store.insert_many(found)
            tick += 1
            if tick % CHECKPOINT_EVERY_TICKS == 0:
                store.checkpoint("TRUNCATE")
            click.echo(f"tick {tick}: {new} new signals")
            if iterations == 0 or tick < iterations:
                time.sleep(max(0.0, interval - (time.monotonic() - started)))
    except KeyboardInterrupt:
        click.echo("stopped")
