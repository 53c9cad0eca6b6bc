"""OHLCV bars from CSV files.

Format: a header row with (case-insensitive) ``date`` (or ``timestamp`` /
``datetime``), ``open``, ``high``, ``low``, ``close`` and optionally ``volume``
and ``symbol``. Dates are ISO 8601 (``2026-01-02`` or ``2026-01-02T15:30:00Z``);
naive dates are taken as UTC. Without a ``symbol`` column the symbol is the file
name without extension, upper-cased (``aapl.csv`` -> ``AAPL``). A file may hold
several symbols when it has a ``symbol`` column. Rows are sorted by date.
"""

from __future__ import annotations

import csv
from collections import defaultdict
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

from .bars import Bars

DATE_COLUMNS = ("date", "timestamp", "datetime")
REQUIRED = ("open", "high", "low", "close")


class CSVFormatError(ValueError):
    pass


def _parse_date(text: str) -> datetime:
    when = datetime.fromisoformat(text.strip())
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return when.astimezone(UTC)


def read_csv(path: str | Path) -> list[Bars]:
    path = Path(path)
    with path.open(newline="", encoding="utf-8-sig") as fh:
        reader = csv.DictReader(fh)
        columns = {c.strip().lower(): c for c in (reader.fieldnames or [])}
        date_col = next((columns[c] for c in DATE_COLUMNS if c in columns), None)
        missing = [c for c in REQUIRED if c not in columns] + ([] if date_col else ["date"])
        if missing:
            raise CSVFormatError(f"{path.name}: missing column(s) {', '.join(missing)}")
        rows_by_symbol: dict[str, list] = defaultdict(list)
        for line_no, row in enumerate(reader, start=2):
            try:
                symbol = (row[columns["symbol"]] if "symbol" in columns else path.stem).strip().upper()
                rows_by_symbol[symbol].append(
                    (
                        _parse_date(row[date_col]),
                        *(float(row[columns[c]]) for c in REQUIRED),
                        float(row[columns["volume"]] or 0) if "volume" in columns else 0.0,
                    )
                )
            except (TypeError, ValueError) as exc:
                raise CSVFormatError(f"{path.name} line {line_no}: {exc}") from None
    result = []
    for symbol, rows in sorted(rows_by_symbol.items()):
        rows.sort(key=lambda r: r[0])
        cols = list(zip(*rows, strict=True))
        result.append(Bars(symbol, list(cols[0]), *(np.array(c) for c in cols[1:])))
    return result


def read_path(path: str | Path) -> list[Bars]:
    """A CSV file, or every ``*.csv`` in a directory (sorted by name)."""
    path = Path(path)
    if path.is_dir():
        files = sorted(path.glob("*.csv"))
        if not files:
            raise CSVFormatError(f"no .csv files in {path}")
        return [bars for f in files for bars in read_csv(f)]
    if not path.exists():
        raise CSVFormatError(f"{path} does not exist")
    return read_csv(path)
