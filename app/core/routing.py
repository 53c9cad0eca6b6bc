"""``<int:...>`` in Alpine's URLs: an id no database row can have is a 404.

werkzeug's integer converter accepts any run of digits, and an id past 64
bits reached SQLAlchemy as an OverflowError (a 500); on PostgreSQL, psycopg 3
binds the id as INTEGER and refuses anything past 2**31-1 (another 500). Every
id column is an INTEGER, so this converter, which replaces ``int`` for the
whole URL map (registered before any route), admits 0..2**31-1 or the URL
matches nothing: 404 ``not_found`` for every method. Negative ids never match
either (unsigned, as before).

The bound is in the converter's *regex*, not only in ``max``: werkzeug picks
the rule for the method before it converts, so a value refused by
``to_python`` on ``PATCH /users/<huge>`` came back as 405 (the GET rule of
the same URL "matched"). ``max`` stays set so the OpenAPI document shows the
bounds (flask-smorest reads ``min``/``max`` off the converter).
"""

from __future__ import annotations

from flask import Flask
from werkzeug.routing import IntegerConverter

MAX_ID = 2**31 - 1  # PostgreSQL INTEGER, the type of every id column


def digits_at_most(limit: int) -> str:
    """A regex (no groups) for the decimal numbers 0..limit, without leading zeros
    beyond the length of ``limit``: shorter numbers freely, same-length ones
    digit by digit (a smaller digit at position i, then anything)."""
    text = str(limit)
    options = [rf"\d{{1,{len(text) - 1}}}"] if len(text) > 1 else []
    for i, digit in enumerate(text):
        if digit != "0":
            rest = len(text) - i - 1
            options.append(text[:i] + f"[0-{int(digit) - 1}]" + (rf"\d{{{rest}}}" if rest else ""))
    options.append(text)
    return "(?:" + "|".join(options) + ")"


class BoundedIntConverter(IntegerConverter):
    regex = digits_at_most(MAX_ID)

    def __init__(
        self,
        map,
        fixed_digits: int = 0,
        min: int | None = None,  # noqa: A002
        max: int | None = None,
        signed: bool = False,
    ) -> None:  # noqa: A002
        if signed:
            raise ValueError("ids in URLs are unsigned")
        super().__init__(
            map,
            fixed_digits=fixed_digits,
            min=min,
            max=MAX_ID if max is None or max > MAX_ID else max,
            signed=False,
        )


def init_app(app: Flask) -> None:
    app.url_map.converters["int"] = BoundedIntConverter
