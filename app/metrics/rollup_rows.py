"""A claimed minute hash -> the rows the rollup writes, and the fields it sets aside.

Redis is not trusted to hold only what our request hook wrote: a neighbour
that can write to it (or an older Alpine, or a bug) can put anything in a
minute hash. A field that could not have come from the hook, or whose row no
database could store, is *set aside* here (returned in ``rejected`` with a
reason) instead of reaching SQL, where it would make the whole minute's
transaction fail on every retry:

- not UTF-8, not ``r|l|<method>|<class>|<rule>`` or ``d|<user>``;
- a value that is not an integer in 0 .. 2**63-1 (BIGINT), a status class
  outside 1..5, a user id outside 0 .. 2**31-1 (INTEGER);
- an endpoint longer than the column (255) or holding a NUL: cutting it
  would make two endpoints one key, and two rows for one key inside one
  ``INSERT .. ON CONFLICT`` is a CardinalityViolation on PostgreSQL.

Methods are not refused but folded: any method outside the known seven is
counted as ``OTHER`` (httpkit/methods.py), the same rule as at the edge.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from app.metrics import keys
from httpkit.methods import method_label

BIGINT_MAX = 2**63 - 1
INT_MAX = 2**31 - 1
ENDPOINT_MAX = 255  # RequestMetricMinute.endpoint
STATUS_CLASSES = range(1, 6)
MAX_TEXT = 1000  # RollupRejectedRow.MAX_TEXT


@dataclass
class Rejected:
    field: str
    value: str
    reason: str


@dataclass
class ParsedBatch:
    requests: dict = field(default_factory=dict)  # (rule, method, class) -> [requests, latency_us]
    deliveries: dict = field(default_factory=dict)  # user_id -> delivered
    rejected: list = field(default_factory=list)  # [Rejected]


def printable(raw) -> str:
    """Any bytes or text as storable text: valid UTF-8, no NUL, at most MAX_TEXT characters."""
    if isinstance(raw, bytes):
        raw = raw.decode("utf-8", "backslashreplace")
    text = str(raw).replace("\x00", "\\x00")
    return text if len(text) <= MAX_TEXT else text[: MAX_TEXT - 3] + "..."


class _Refused(ValueError):
    pass


def _counter(raw_value: bytes, low: int = 0, high: int = BIGINT_MAX) -> int:
    try:
        value = int(raw_value)
    except ValueError:
        raise _Refused("value is not an integer") from None
    if not low <= value <= high:
        raise _Refused("value out of range")
    return value


def _add(into: dict, key, values: tuple) -> None:
    have = into.get(key)
    if have is None:
        into[key] = list(values)
    else:
        for i, v in enumerate(values):
            have[i] += v


def parse(raw: dict) -> ParsedBatch:
    """HGETALL of a minute hash -> rows, summed per key, and the fields set aside."""
    batch = ParsedBatch()
    for raw_field, raw_value in raw.items():
        try:
            try:
                name = raw_field.decode()
            except UnicodeDecodeError:
                raise _Refused("field is not UTF-8") from None
            value = _counter(raw_value)
            if name.startswith(keys.DELIVERED + keys.SEP):
                try:
                    uid = _counter(name.split(keys.SEP, 1)[1].encode(), 0, INT_MAX)
                except _Refused as exc:
                    raise _Refused(f"user id: {exc}") from None
                batch.deliveries[uid] = batch.deliveries.get(uid, 0) + value
                continue
            parts = name.split(keys.SEP, 3)
            if len(parts) != 4 or parts[0] not in (keys.REQUESTS, keys.LATENCY):
                raise _Refused("not a request-metrics field")
            kind, method, status_class, rule = parts
            if not status_class.isdigit() or int(status_class) not in STATUS_CLASSES:
                raise _Refused("status class is not 1..5")
            if not rule or len(rule) > ENDPOINT_MAX or "\x00" in rule:
                raise _Refused(f"endpoint is empty, longer than {ENDPOINT_MAX} or holds NUL")
            pair = (value, 0) if kind == keys.REQUESTS else (0, value)
            _add(batch.requests, (rule, method_label(method), int(status_class)), pair)
        except _Refused as exc:
            batch.rejected.append(Rejected(printable(raw_field), printable(raw_value), str(exc)))
    _drop_overflowing_sums(batch)
    return batch


def _drop_overflowing_sums(batch: ParsedBatch) -> None:
    """Fields that each fit but add up past BIGINT (folded methods, duplicates)."""
    for key, values in list(batch.requests.items()):
        if max(values) > BIGINT_MAX:
            del batch.requests[key]
            batch.rejected.append(
                Rejected(request_field_text(key), request_value_text(values), "sum out of range")
            )
    for uid, n in list(batch.deliveries.items()):
        if n > BIGINT_MAX:
            del batch.deliveries[uid]
            batch.rejected.append(Rejected(keys.delivered_field(uid), str(n), "sum out of range"))


def request_field_text(key: tuple) -> str:
    rule, method, status_class = key
    return printable(keys.request_field(keys.REQUESTS, method, status_class, rule))


def request_value_text(values) -> str:
    return f"requests={values[0]} latency_us={values[1]}"
