"""Keeps each web process's feed window (app/feed/window.py) current.

One background thread per process (per app) asks Argo every
``FEED_POLL_INTERVAL`` seconds (default 0.25) for its newest page with
``If-None-Match``: an unchanged store is a 304 and costs nothing. On a 200
only the signals not already in the window are verified (app/feed/signal_ingest.py
``accept_many``), a new window is built and swapped in with one reference
assignment, and then the new ones are stored in the local copy
(``store_new``: the unique insert, and the one place that knows which
signals are newly stored).

Under gunicorn the thread is
started lazily by the first feed request of each process and guarded by the
pid, so a forked worker never relies on its parent's thread; gunicorn's
``worker_exit`` stops it. If it ever dies, the next feed request starts a new
one. It never takes a request down: a request only reads the last window.

When is the window served? Only while Argo confirmed it recently: the last
poll succeeded (200 or 304) and started at most ``FEED_WINDOW_MAX_AGE``
seconds ago (default 1 s). A failed poll withdraws it at once, so the feed
falls back to its upstream path (Argo, then the local copy with
``stale: true``) and is back on the window with the next successful poll.

``FEED_POLL_INTERVAL = 0`` (the test config): no thread; each feed request
refreshes the window itself first (one conditional GET), so a test sees what
it just stored in Argo.
"""

from __future__ import annotations

import logging
import os
import threading
import time
import weakref

from flask import Flask, current_app
from sqlalchemy.exc import SQLAlchemyError

from app.core.per_process import per_process
from app.extensions import db
from app.feed import signal_ingest
from app.feed.argo_client import ArgoUnavailable, argo_client
from app.feed.feed_metrics import FEED_WINDOW_POLLS
from app.feed.window import EMPTY, Entry, Window

log = logging.getLogger(__name__)

ARGO_PAGE_MAX = 500  # Argo's own bound on `limit`
# The poll asks for the newest POLL_PAGE only (a few new signals per poll in
# steady state): a small answer to fetch, parse and compare while the worker's
# request threads hold the GIL. Deeper pages follow only when all of it is new.
POLL_PAGE = 100
EXTENSION_KEY = "feed_window"
APP_KEY = "feed_window_app"  # a weak reference to the app itself, for the poller thread

_holders: weakref.WeakSet[WindowHolder] = weakref.WeakSet()


class WindowHolder:
    """What one process keeps for one app: the current window and its poller."""

    def __init__(self, size: int, interval: float, max_age: float) -> None:
        self.size = max(1, size)
        self.interval = interval
        self.max_age = max_age
        self.window: Window = EMPTY
        self.etag: str | None = None
        self.confirmed_at = float("-inf")  # monotonic start of the last successful poll
        self.pid = os.getpid()
        self.thread: threading.Thread | None = None
        self.starts = 0
        self.stop_event = threading.Event()
        self._start_lock = threading.Lock()
        self._refresh_lock = threading.Lock()

    def served(self) -> Window | None:
        """The window, if Argo confirmed it recently enough to serve it as fresh."""
        if time.monotonic() - self.confirmed_at > self.max_age:
            return None
        return self.window

    # -- the poller thread -------------------------------------------------------
    def ensure_running(self, app: Flask) -> None:
        thread = self.thread
        if thread is not None and thread.is_alive():
            return
        with self._start_lock:
            if self.stop_event.is_set() or (self.thread is not None and self.thread.is_alive()):
                return
            if self.starts:
                log.warning("feed window poller was not running; starting it again")
            self.starts += 1
            self.thread = threading.Thread(
                target=_poll_loop, args=(app, weakref.ref(self)), name="feed-window-poller", daemon=True
            )
            self.thread.start()

    def stop(self) -> None:
        self.stop_event.set()

    # -- one refresh ---------------------------------------------------------------
    def refresh(self) -> bool:
        """One conditional poll (and, on news, a new window). Needs an app context."""
        new_signals: list[dict] = []
        with self._refresh_lock:  # one at a time (refresh-on-read: many request threads)
            started = time.monotonic()
            try:
                fetched = _fetch(self)
            except ArgoUnavailable as exc:
                FEED_WINDOW_POLLS.labels("failed").inc()
                if self.confirmed_at != float("-inf"):
                    log.warning("feed window: argo poll failed (%s); serving the upstream path", exc.reason)
                self.confirmed_at = float("-inf")  # withdrawn until Argo answers again
                return False
            if fetched is not None:
                self.window, self.etag, new_signals = fetched
            FEED_WINDOW_POLLS.labels("unchanged" if fetched is None else "changed").inc()
            self.confirmed_at = started
        if new_signals:
            # After the swap: a new signal is served first and stored a moment
            # later (the local copy is the fallback; the beat sync also fills it).
            _store(new_signals)
        return True


def _poll_loop(app: Flask, ref) -> None:
    while True:
        holder = ref()
        if holder is None or holder.stop_event.is_set() or holder.pid != os.getpid():
            return
        started = time.monotonic()
        try:
            with app.app_context():
                holder.refresh()
        except Exception:  # the poller survives anything a refresh can raise
            log.exception("feed window: refresh failed")
        stop, pause = holder.stop_event, max(0.0, holder.interval - (time.monotonic() - started))
        del holder  # don't keep an app's holder alive while sleeping
        if stop.wait(pause):
            return


def _fetch(holder: WindowHolder) -> tuple[Window, str | None, list[dict]] | None:
    """None when Argo says nothing changed; else the new window, its ETag and
    the newly verified signals (to store)."""
    old = holder.window
    first = min(POLL_PAGE, holder.size)
    etag = holder.etag if (old.entries or old.complete) else None
    raws, new_etag = argo_client.poll_latest(limit=first, offset=0, etag=etag)
    if raws is None:
        return None
    complete = len(raws) < first
    # Page deeper only while every signal is new (a burst, or the first fill).
    while not complete and len(raws) < holder.size and _sha(raws[-1]) not in old.shas:
        want = min(ARGO_PAGE_MAX, holder.size - len(raws))
        more, _ = argo_client.poll_latest(limit=want, offset=len(raws), etag=None)
        raws.extend(more or [])
        complete = len(more or []) < want
    window, verified = _merge(old, raws, complete, holder.size)
    return window, new_etag, verified


def _sha(raw) -> str | None:
    return raw.get("sha256") if isinstance(raw, dict) else None


def _merge(old: Window, raws: list, complete: bool, size: int) -> tuple[Window, list[dict]]:
    """Argo's newest ``raws`` (unverified) + the part of ``old`` below them.

    Only what the window does not hold verbatim is verified: a new signal, or
    one Argo now serves differently under the same sha256 (rejected, counted,
    and dropped from the window like any signal that fails verification).
    """
    by_sha = {e.sha256: e for e in old.entries}
    kept: dict[str, Entry] = {}
    to_check = []
    for raw in raws:
        entry = by_sha.get(_sha(raw))  # type: ignore[arg-type]
        if entry is not None and entry.same_as(raw):
            kept[entry.sha256] = entry
        else:
            to_check.append(raw)
    verified = signal_ingest.accept_many(to_check, "feed", use_recent=True)
    kept.update((s["sha256"], Entry.from_signal(s)) for s in verified)

    entries: list[Entry] = []
    seen: set[str] = set()
    for raw in raws:
        found = kept.get(_sha(raw))  # type: ignore[arg-type]
        if found is not None and found.sha256 not in seen:  # a rejected signal is left out
            seen.add(found.sha256)
            entries.append(found)
    last = _sha(raws[-1]) if raws else None
    if last in by_sha:  # the old window continues below Argo's page
        tail_start = next(i for i, e in enumerate(old.entries) if e.sha256 == last) + 1
        entries.extend(e for e in old.entries[tail_start:] if e.sha256 not in seen)
        complete = complete or old.complete
    if len(entries) > size:
        entries, complete = entries[:size], False
    return Window.build(tuple(entries), complete), verified


def _store(signals: list[dict]) -> None:
    """Into the local copy (the stale path serves it); never fatal to the poller."""
    if not signals:
        return
    try:
        signal_ingest.store_new(signals)
    except SQLAlchemyError as exc:
        db.session.rollback()
        log.warning("feed window: could not store new signals: %s", exc.__class__.__name__)


# -- what a request calls ----------------------------------------------------------
def _holder() -> WindowHolder:
    return per_process(current_app.extensions, EXTENSION_KEY, _new_holder)


def _new_holder() -> WindowHolder:
    config = current_app.config
    holder = WindowHolder(
        int(config.get("FEED_WINDOW", 5000)),
        float(config.get("FEED_POLL_INTERVAL", 0.25)),
        float(config.get("FEED_WINDOW_MAX_AGE", 1.0)),
    )
    _holders.add(holder)
    return holder


def current_window() -> Window | None:
    """The window a feed request may serve from, or None (take the upstream path).
    ``FEED_WINDOW = 0`` turns the window off: every page takes the upstream path."""
    if not current_app.config.get("FEED_WINDOW", 5000):
        return None
    holder = _holder()
    if holder.interval <= 0:
        holder.refresh()
    else:
        holder.ensure_running(current_app.extensions[APP_KEY]())
    return holder.served()


def on_register(state) -> None:
    """``record_once`` of the feed blueprint: remember the app the poller will run in."""
    state.app.extensions[APP_KEY] = weakref.ref(state.app)


def stop_all() -> None:
    """gunicorn ``worker_exit``: stop this process's pollers."""
    for holder in list(_holders):
        if holder.pid == os.getpid():
            holder.stop()
