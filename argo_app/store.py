"""Argo's SQLite signal store.

Design:

* WAL mode: one writer, readers never block it and are never blocked by it.
* ONE connection per thread, opened on the thread's first use and reused for
  the life of the thread -- never one per request, never one shared across
  threads. A registry counts them so tests and benchmarks can assert "no more
  connections than threads".
* Writes run in explicit ``BEGIN IMMEDIATE`` transactions (autocommit mode,
  ``isolation_level=None``): a deferred transaction that upgrades to a write
  fails with "database is locked" immediately, ignoring ``busy_timeout``.
* Every row stores its served JSON text (``payload``) so the hot endpoint only
  joins strings.
* A passive WAL checkpoint runs after every ``CHECKPOINT_EVERY`` inserted rows
  so the WAL file does not grow without bound.
* Rendered answers (a body and its ETag) are memoised per connection and
  revalidated on every read by the database's version (:meth:`SignalStore.rendered`):
  ``PRAGMA data_version``, which changes when ANY other connection commits --
  another thread or the generator in another process -- plus this connection's
  ``total_changes``, which counts its own writes (``data_version`` ignores
  them). The steady state costs one pragma instead of the query; nothing is
  ever served from before the latest commit.
"""

from __future__ import annotations

import os
import sqlite3
import threading
from collections.abc import Callable, Hashable, Iterable

from instance_files import private_file

from .model import PREMIUM_CONFIDENCE, to_payload

BUSY_TIMEOUT_MS = 5000
CHECKPOINT_EVERY = 5000  # inserted rows between passive checkpoints
# Bounds of each connection's memo of rendered answers: a client can invent
# query strings (offsets, confidences) without end, and a limit=500 body is
# ~150 KB. The oldest entries go first.
MEMO_MAX_ENTRIES = 256
MEMO_MAX_BYTES = 4 * 1024 * 1024

SCHEMA = """
CREATE TABLE IF NOT EXISTS signals (
    id          INTEGER PRIMARY KEY,
    sha256      TEXT    NOT NULL UNIQUE,
    symbol      TEXT    NOT NULL,
    action      TEXT    NOT NULL CHECK (action IN ('BUY', 'SELL')),
    confidence  REAL    NOT NULL CHECK (confidence BETWEEN 0 AND 100),
    entry_price REAL    NOT NULL,
    stop_loss   REAL    NOT NULL,
    take_profit REAL    NOT NULL,
    timestamp   TEXT    NOT NULL,
    strategy    TEXT    NOT NULL,
    payload     TEXT    NOT NULL
);
-- newest first; id breaks timestamp ties so paging has no overlap or gap
CREATE INDEX IF NOT EXISTS ix_signals_newest ON signals (timestamp DESC, id DESC);
-- premium newest first; used only when the query says "confidence >= 95" literally
CREATE INDEX IF NOT EXISTS ix_signals_premium ON signals (timestamp DESC, id DESC)
    WHERE confidence >= 95;
-- per symbol newest first
CREATE INDEX IF NOT EXISTS ix_signals_symbol ON signals (symbol, timestamp DESC, id DESC);
"""
# The partial index's literal and the model's threshold must agree.
assert PREMIUM_CONFIDENCE == 95.0

_INSERT = """
INSERT OR IGNORE INTO signals
    (sha256, symbol, action, confidence, entry_price, stop_loss, take_profit,
     timestamp, strategy, payload)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
"""


def build_latest_query(
    *, premium_only: bool, symbol: str | None, min_confidence: float | None
) -> tuple[str, tuple]:
    """One parameterised query for every filter combination.

    Returns SQL with placeholders for the filters followed by LIMIT and OFFSET
    (the caller appends those two values). The premium threshold is written as
    a literal so SQLite can use the partial index; any user value is bound.
    """
    where: list[str] = []
    params: list[str | float] = []
    if symbol:
        where.append("symbol = ?")
        params.append(symbol)
    if premium_only or (min_confidence is not None and min_confidence >= PREMIUM_CONFIDENCE):
        where.append("confidence >= 95")  # literal on purpose: partial index
    if min_confidence is not None and min_confidence > 0:
        where.append("confidence >= ?")
        params.append(float(min_confidence))
    sql = "SELECT payload FROM signals"
    if where:
        sql += " WHERE " + " AND ".join(where)
    sql += " ORDER BY timestamp DESC, id DESC LIMIT ? OFFSET ?"
    return sql, tuple(params)


class SignalStore:
    """Thread-safe access to one SQLite file, one connection per thread."""

    def __init__(self, path: str):
        self.path = str(path)
        self._local = threading.local()
        self._registry_lock = threading.Lock()
        # thread -> connection; lets us count and close them. A connection is
        # only ever *used* by its own thread; the registry touches another
        # thread's connection only to close it once that thread is dead or at
        # shutdown (hence check_same_thread=False, which alone makes nothing safe).
        self._connections: dict[threading.Thread, sqlite3.Connection] = {}
        self._inserted_since_checkpoint = 0
        self._pid = os.getpid()

    # -- connections -------------------------------------------------------
    def _open(self) -> sqlite3.Connection:
        if self.path != ":memory:" and not self.path.startswith("file:"):
            private_file(self.path)  # 0600 before SQLite creates it 0644 (the -wal/-shm follow)
        conn = sqlite3.connect(
            self.path, isolation_level=None, check_same_thread=False, timeout=BUSY_TIMEOUT_MS / 1000
        )
        conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        conn.execute("PRAGMA journal_mode = WAL")
        conn.execute("PRAGMA synchronous = NORMAL")  # durable at checkpoints; safe in WAL
        return conn

    def connection(self) -> sqlite3.Connection:
        """This thread's connection (opened on first use, then reused)."""
        conn = getattr(self._local, "conn", None)
        if conn is not None and self._pid == os.getpid():
            return conn
        if self._pid != os.getpid():
            # Forked child (e.g. gunicorn --preload): never touch the parent's
            # connections; forget them and start afresh.
            self._local = threading.local()
            with self._registry_lock:
                self._connections = {}
            self._pid = os.getpid()
        conn = self._open()
        self._local.conn = conn
        self._local.memo = _Memo()  # belongs to this connection: its version is this connection's
        with self._registry_lock:
            self._prune_dead_locked()
            self._connections[threading.current_thread()] = conn
        return conn

    def _prune_dead_locked(self) -> None:
        for thread in [t for t in self._connections if not t.is_alive()]:
            self._connections.pop(thread).close()

    def open_connections(self) -> int:
        """How many connections are open (dead threads' ones are closed first)."""
        with self._registry_lock:
            self._prune_dead_locked()
            return len(self._connections)

    def close_thread_connection(self) -> None:
        conn = getattr(self._local, "conn", None)
        if conn is None:
            return
        self._local.conn = None
        self._local.memo = None
        with self._registry_lock:
            self._connections.pop(threading.current_thread(), None)
        conn.close()

    def close_all(self) -> None:
        """Shutdown/test teardown: close every thread's connection."""
        with self._registry_lock:
            conns, self._connections = list(self._connections.values()), {}
        self._local = threading.local()
        for conn in conns:
            conn.close()

    # -- schema ------------------------------------------------------------
    def init_schema(self) -> None:
        """Create the file, tables and indexes. Uses a short-lived connection so
        that create_app() leaves nothing open to be inherited across a fork."""
        directory = os.path.dirname(os.path.abspath(self.path))
        os.makedirs(directory, exist_ok=True)
        conn = self._open()
        try:
            conn.executescript(SCHEMA)
        finally:
            conn.close()

    # -- writes ------------------------------------------------------------
    def insert_many(self, signals: Iterable[dict]) -> int:
        """Insert served Signal dicts; duplicates (same sha256) are ignored.
        Returns how many rows were new."""
        rows = [
            (
                s["sha256"],
                s["symbol"],
                s["action"],
                s["confidence"],
                s["entry_price"],
                s["stop_loss"],
                s["take_profit"],
                s["timestamp"],
                s["strategy"],
                to_payload(s),
            )
            for s in signals
        ]
        if not rows:
            return 0
        conn = self.connection()
        before = conn.total_changes
        conn.execute("BEGIN IMMEDIATE")
        try:
            conn.executemany(_INSERT, rows)
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")
        inserted = conn.total_changes - before
        self._inserted_since_checkpoint += inserted
        if self._inserted_since_checkpoint >= CHECKPOINT_EVERY:
            self.checkpoint("PASSIVE")
        return inserted

    def checkpoint(self, mode: str = "PASSIVE") -> tuple[int, int, int]:
        """Run a WAL checkpoint; returns (busy, wal_pages, checkpointed_pages)."""
        if mode not in ("PASSIVE", "FULL", "RESTART", "TRUNCATE"):
            raise ValueError(f"unknown checkpoint mode {mode!r}")
        self._inserted_since_checkpoint = 0
        return tuple(self.connection().execute(f"PRAGMA wal_checkpoint({mode})").fetchone())

    # -- reads -------------------------------------------------------------
    def latest_payloads(
        self,
        *,
        limit: int,
        offset: int = 0,
        premium_only: bool = False,
        symbol: str | None = None,
        min_confidence: float | None = None,
    ) -> list[str]:
        """Stored JSON texts of the newest matching signals, newest first."""
        sql, params = build_latest_query(
            premium_only=premium_only, symbol=symbol, min_confidence=min_confidence
        )
        rows = self.connection().execute(sql, params + (limit, offset)).fetchall()
        return [row[0] for row in rows]

    def data_version(self) -> tuple[int, int]:
        """What this thread's connection has seen of the database: changes when
        any connection (here or in another process) commits, including this one."""
        conn = self.connection()
        return conn.execute("PRAGMA data_version").fetchone()[0], conn.total_changes

    def rendered(self, key: Hashable, render: Callable[[], tuple[bytes, str]]) -> tuple[bytes, str]:
        """``render()``'s (body, etag), reused while the database is unchanged.

        ``key`` must name everything the answer depends on besides the data
        (e.g. the query's parameters). The memo belongs to this thread's
        connection and is checked against :meth:`data_version` on every call,
        so an answer is never older than the latest commit, from any process.
        """
        version = self.data_version()  # read BEFORE rendering: a commit in between is caught next time
        memo: _Memo = self._local.memo
        if memo.version != version:
            memo.reset(version)
        hit = memo.entries.get(key)
        if hit is None:
            hit = render()
            memo.put(key, hit)
        return hit

    def memo_size(self) -> tuple[int, int]:
        """(entries, body bytes) in this thread's memo of rendered answers."""
        memo: _Memo | None = getattr(self._local, "memo", None)
        return (len(memo.entries), memo.size) if memo is not None else (0, 0)

    def get_payload(self, sha256: str) -> str | None:
        row = self.connection().execute("SELECT payload FROM signals WHERE sha256 = ?", (sha256,)).fetchone()
        return row[0] if row else None

    def ping(self) -> bool:
        try:
            return self.connection().execute("SELECT 1").fetchone() == (1,)
        except sqlite3.Error:
            return False

    def stats(self) -> dict:
        conn = self.connection()
        total, premium, newest, oldest = conn.execute(
            "SELECT count(*), coalesce(sum(confidence >= 95), 0), max(timestamp), min(timestamp) FROM signals"
        ).fetchone()
        by_symbol = dict(
            conn.execute("SELECT symbol, count(*) FROM signals GROUP BY symbol ORDER BY symbol").fetchall()
        )
        return {
            "total": total,
            "premium": premium,
            "premium_share": (premium / total) if total else 0.0,
            "newest_timestamp": newest,
            "oldest_timestamp": oldest,
            "by_symbol": by_symbol,
        }


class _Memo:
    """One connection's rendered answers, all valid for one ``data_version``.

    Bounded by :data:`MEMO_MAX_ENTRIES` and :data:`MEMO_MAX_BYTES`, oldest out
    first; a body too big for the byte budget alone is not kept. Only its own
    thread touches it.
    """

    __slots__ = ("version", "entries", "size")

    def __init__(self) -> None:
        self.version: tuple[int, int] | None = None
        self.entries: dict[Hashable, tuple[bytes, str]] = {}
        self.size = 0

    def reset(self, version: tuple[int, int]) -> None:
        self.version, self.entries, self.size = version, {}, 0

    def put(self, key: Hashable, value: tuple[bytes, str]) -> None:
        cost = len(value[0])
        if cost > MEMO_MAX_BYTES:
            return
        entries = self.entries
        while entries and (len(entries) >= MEMO_MAX_ENTRIES or self.size + cost > MEMO_MAX_BYTES):
            oldest = next(iter(entries))
            self.size -= len(entries.pop(oldest)[0])
        entries[key] = value
        self.size += cost
