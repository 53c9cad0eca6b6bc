"""Keeping every process's in-memory auth state exact: publish, apply, acknowledge.

The rules are in app/accounts/local_auth.py; this is the wire:

* channel ``alpine:auth-invalidate:<db>``, message ``<id> <kind>:<key>`` (kind
  ``u`` = user id, ``s`` = login session id, ``*`` = everything). Pub/sub
  channels are server-wide while keys (the acknowledgements) live in one
  database: the database number in the name keeps deployments that share a
  Redis server on different databases from waiting on each other;
* each web process runs one listener thread per app (started by its first
  authenticated request, guarded by the pid so a forked gunicorn worker never
  relies on its parent's thread; gunicorn's ``worker_exit`` stops it). It
  applies each message and pushes an acknowledgement on ``alpine:auth-ack:<id>``;
* the writer publishes (Redis says how many subscribers received it) and
  waits for that many acknowledgements, at most ``LOCAL_AUTH_LEASE`` (+ a
  margin): a process that has not acknowledged by then has stopped using its
  memory (no PONG newer than the message), whatever happened to it.

The listener uses a connection of its own (a subscribed connection can do
nothing else) and plain redis-py; it needs no app context.
"""

from __future__ import annotations

import logging
import os
import secrets
import threading
import time
import weakref
from typing import TYPE_CHECKING

import redis
from flask import Flask, current_app

from app.core import redis_guard

if TYPE_CHECKING:
    from app.accounts.local_auth import LocalAuth

log = logging.getLogger(__name__)

CHANNEL_PREFIX = "alpine:auth-invalidate:"
ACK_PREFIX = "alpine:auth-ack:"
ACK_TTL = 30  # seconds an unread acknowledgement list may linger
MARGIN = 0.05  # on top of the lease: clock reads and scheduling
RECONNECT_PAUSE = 0.5

_listening: weakref.WeakSet[LocalAuth] = weakref.WeakSet()


def channel(client: redis.Redis) -> str:
    """The channel of the database ``client`` talks to."""
    return f"{CHANNEL_PREFIX}{int(client.connection_pool.connection_kwargs.get('db') or 0)}"


# -- the writer's side ---------------------------------------------------------------
def publish(kind: str, key: str) -> None:
    """After the writer's commit and its Redis writes: every process drops ``kind:key``.

    Returns once every subscribed process has acknowledged, or after the lease
    (a process that did not acknowledge no longer uses its memory by then).
    Redis unreachable: nothing to wait for (no process is caught up without it).
    """
    _drop_here(kind, key)
    lease = float(current_app.config.get("LOCAL_AUTH_LEASE", 0.5))
    msg_id = secrets.token_hex(8)
    ack_key = ACK_PREFIX + msg_id
    client = redis_guard.client()
    started = time.monotonic()
    try:
        receivers = int(client.publish(channel(client), f"{msg_id} {kind}:{key}"))
        deadline = started + lease + MARGIN
        acked = 0
        # BLPOP in slices shorter than the client's (sub-second) socket timeout.
        socket_timeout = client.connection_pool.connection_kwargs.get("socket_timeout") or 1.0
        slice_max = max(0.01, min(0.1, socket_timeout / 2))
        while acked < receivers and (left := deadline - time.monotonic()) > 0:
            if client.blpop([ack_key], timeout=max(0.01, min(left, slice_max))) is not None:
                acked += 1
        if acked < receivers:
            log.warning(
                "auth invalidation: %d of %d processes did not acknowledge", receivers - acked, receivers
            )
            time.sleep(max(0.0, deadline - time.monotonic()))
        client.delete(ack_key)
    except redis_guard.REDIS_ERRORS as exc:
        redis_guard.failed(exc)
        # Listeners that cannot reach Redis either stop using their memory within
        # the lease; one that still can, would miss this: wait the lease out.
        time.sleep(max(0.0, started + lease + MARGIN - time.monotonic()))


def _drop_here(kind: str, key: str) -> None:
    """The writer's own process drops at once (it may not be subscribed yet, or at all)."""
    from app.accounts.local_auth import EXTENSION_KEY

    local = current_app.extensions.get(EXTENSION_KEY)
    if local is not None and local.pid == os.getpid():
        local.drop(kind, key)


# -- each process's listener -------------------------------------------------------
def ensure_listening(app: Flask, local: LocalAuth) -> None:
    thread = local.thread
    if thread is not None and thread.is_alive():
        return
    with local.lock:
        if local.stop_event.is_set() or (local.thread is not None and local.thread.is_alive()):
            return
        if local.starts:
            log.warning("auth invalidation listener was not running; starting it again")
        local.starts += 1
        settings = {
            "url": app.config["REDIS_URL"],
            "socket_timeout": max(1.0, float(app.config.get("REDIS_SOCKET_TIMEOUT") or 1.0)),
            "socket_connect_timeout": app.config.get("REDIS_CONNECT_TIMEOUT"),
        }
        local.thread = threading.Thread(
            target=_listen, args=(weakref.ref(local), settings), name="auth-invalidation", daemon=True
        )
        _listening.add(local)
        local.thread.start()


def _listen(ref, settings: dict) -> None:
    while True:
        local = ref()
        if local is None or local.stop_event.is_set() or local.pid != os.getpid():
            return
        stop = local.stop_event
        del local  # never keep an app's memory alive from this thread
        try:
            _serve(ref, settings)
        except Exception as exc:  # Redis went away (or worse): reconnect, never die
            current = ref()
            if current is not None:
                current.caught_up_at = float("-inf")
                current.clear()
            log.warning("auth invalidation listener: %s; reconnecting", exc.__class__.__name__)
        if stop.wait(RECONNECT_PAUSE):
            return


def _serve(ref, settings: dict) -> None:
    """One connection's life: subscribe, clear, then apply / ping until it fails."""
    client = redis.Redis.from_url(
        settings["url"],
        socket_timeout=settings["socket_timeout"],
        socket_connect_timeout=settings["socket_connect_timeout"],
    )
    pubsub = client.pubsub()
    try:
        pubsub.subscribe(channel(client))
        first = ref()
        if first is None:
            return
        interval, lease, stop = first.lease / 4, first.lease, first.stop_event
        first.clear()  # whatever was remembered may have missed messages while unsubscribed
        del first
        ping_sent: float | None = None
        next_ping = 0.0
        while not stop.is_set():
            now = time.monotonic()
            if ping_sent is None and now >= next_ping:
                ping_sent = now
                pubsub.ping()
            elif ping_sent is not None and now - ping_sent > lease:
                raise TimeoutError("no PONG within the lease")
            message = pubsub.get_message(timeout=interval / 2)
            local = ref()
            if local is None or local.pid != os.getpid():
                return
            if message is None:
                continue
            if message["type"] == "pong" and ping_sent is not None:
                local.caught_up_at = ping_sent  # everything published before it is applied
                next_ping, ping_sent = ping_sent + interval, None
            elif message["type"] == "message":
                _apply(local, client, message["data"])
    finally:
        try:
            pubsub.close()
        finally:
            client.close()


def _apply(local: LocalAuth, client, data: bytes) -> None:
    try:
        msg_id, _, what = data.decode().partition(" ")
        kind, _, key = what.partition(":")
    except UnicodeDecodeError:
        msg_id, kind, key = "", "*", ""
    local.drop(kind, key)
    if msg_id:
        pipe = client.pipeline(transaction=False)
        pipe.rpush(ACK_PREFIX + msg_id, b"1")
        pipe.expire(ACK_PREFIX + msg_id, ACK_TTL)
        pipe.execute()


def stop_all() -> None:
    """gunicorn ``worker_exit`` (and tests): stop this process's listeners."""
    for local in list(_listening):
        if local.pid == os.getpid():
            local.stop_event.set()
            local.caught_up_at = float("-inf")
