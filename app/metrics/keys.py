"""The Redis key layout the request hook writes and the rollup reads.

metrics:m:<minute>             hash, one per UTC minute (<minute> = epoch seconds // 60)
    r|<method>|<class>|<rule>  requests answered with that status class (2 = 2xx, ...)
    l|<method>|<class>|<rule>  their latency sum, microseconds
    d|<user_id>                signals delivered to that user (0 = no verified JWT)
metrics:minutes                sorted set: minute numbers holding a hash (score = minute),
                               so nothing ever needs KEYS; the rollup's only index
metrics:p:<minute>:<batch>     a minute hash the rollup has claimed (RENAMEd) for batch
                               <batch>; deleted after the SQL commit that records <batch>
metrics:processing             set of claimed processing keys: orphans of a killed rollup
metrics:flush:<id>             marker written in the same MULTI as a flush, so a flush
                               whose reply was lost can be checked before being re-sent
metrics:rejected_rows          counter: fields the rollup set aside, ever (exported by
                               /metrics as alpine_rollup_rejected_rows_total)
"""

from __future__ import annotations

PREFIX = "metrics:"
MINUTE_INDEX = PREFIX + "minutes"
PROCESSING_SET = PREFIX + "processing"
REJECTED_ROWS = PREFIX + "rejected_rows"
FLUSH_MARKER_TTL = 3600

REQUESTS = "r"
LATENCY = "l"
DELIVERED = "d"
SEP = "|"


def minute_key(minute: int) -> str:
    return f"{PREFIX}m:{minute}"


def processing_key(minute: int, batch_id: str) -> str:
    return f"{PREFIX}p:{minute}:{batch_id}"


def parse_processing_key(key: str) -> tuple[int, str]:
    """``metrics:p:<minute>:<batch>`` -> (minute, batch)."""
    _, _, minute, batch_id = key.split(":", 3)
    return int(minute), batch_id


def flush_marker(flush_id: str) -> str:
    return f"{PREFIX}flush:{flush_id}"


def request_field(kind: str, method: str, status_class: int, rule: str) -> str:
    # The rule goes last: it is the only part that may contain the separator.
    return f"{kind}{SEP}{method}{SEP}{status_class}{SEP}{rule}"


def delivered_field(user_id: int) -> str:
    return f"{DELIVERED}{SEP}{user_id}"
