"""The in-process auth memory (app/accounts/local_auth.py) never weakens a guarantee.

Two Alpine servers (one gunicorn worker each, so each request's process is
known) share PostgreSQL and Redis: a change made through one is seen by the
other on its very next request, while the other answers from its memory in
between; also when an invalidation is not acknowledged, when the listener's
connection is cut, and when Redis is gone.
"""

from __future__ import annotations

import contextlib
import re
import time

import pytest
import redis
import requests

from app.accounts import auth_invalidation
from app.accounts.local_auth import LocalAuth
from app.accounts.user_cache import CurrentUser
from tests.conftest import free_port
from tests.hardening.servers import alpine_gunicorn, env_with, wait_http

LEASE = 0.5  # the default LOCAL_AUTH_LEASE


def _user(uid: int, tier: str = "starter") -> CurrentUser:
    return CurrentUser(uid, f"u{uid}@example.com", "", tier, True, False, False, None, 1)


# -- the memory's own rules -----------------------------------------------------------
def test_a_fetch_that_raced_an_invalidation_is_not_remembered():
    local = LocalAuth(lease=LEASE, ttl=60, max_entries=100)
    local.caught_up_at = time.monotonic()
    epoch = local.epoch  # a request starts fetching ...
    local.drop("u", "1")  # ... a writer's invalidation arrives meanwhile
    local.remember(epoch, _user(1), "sid-1", False, 60)
    assert local.lookup(1, "sid-1") is None
    local.remember(local.epoch, _user(1), "sid-1", False, 60)
    assert local.lookup(1, "sid-1") == (_user(1), False)


def test_the_memory_is_not_used_once_it_is_not_caught_up_within_the_lease():
    local = LocalAuth(lease=LEASE, ttl=60, max_entries=100)
    local.caught_up_at = time.monotonic()
    local.remember(local.epoch, _user(1), "sid-1", False, 60)
    assert local.lookup(1, "sid-1") is not None
    local.caught_up_at = time.monotonic() - LEASE  # no PONG for a whole lease
    assert local.lookup(1, "sid-1") is None


def test_the_memory_is_bounded_and_entries_expire():
    local = LocalAuth(lease=LEASE, ttl=60, max_entries=50)
    local.caught_up_at = time.monotonic()
    for uid in range(1, 1001):
        local.remember(local.epoch, _user(uid), f"sid-{uid}", False, 60)
    assert len(local.users) == 50 and len(local.sessions) == 50
    assert local.lookup(1000, "sid-1000") is not None and local.lookup(1, "sid-1") is None
    local.remember(local.epoch, _user(7), "sid-7", False, 0.05)  # the session's own TTL is shorter
    time.sleep(0.1)
    assert local.lookup(7, "sid-7") is None


# -- two processes ---------------------------------------------------------------------
def _server(base_config, tmp_path, name: str, **extra):
    prom = tmp_path / f"prom-{name}"
    prom.mkdir()
    port = free_port()
    env = env_with(base_config, PROMETHEUS_MULTIPROC_DIR=prom, **extra)
    proc = alpine_gunicorn(env, port, tmp_path / f"{name}.log", workers=1, threads=2).start()
    return f"http://127.0.0.1:{port}", proc


@contextlib.contextmanager
def two_servers(base_config, tmp_path, **extra):
    """Servers a and b (one worker each), their URLs."""
    started = [_server(base_config, tmp_path, name, **extra) for name in ("a", "b")]
    try:
        for url, proc in started:
            wait_http(url + "/health", proc)
        yield [url for url, _ in started]
    finally:
        for _, proc in started:
            proc.kill()


@pytest.fixture
def servers(app, base_config, tmp_path):
    with two_servers(base_config, tmp_path) as urls:
        yield urls


def local_hits(url: str) -> float:
    text = requests.get(url + "/metrics", timeout=10).text
    found = re.search(r'^alpine_user_cache_lookups_total\{result="local"\} (\S+)$', text, re.M)
    return float(found.group(1)) if found else 0.0


def me(url: str, headers: dict) -> requests.Response:
    return requests.get(url + "/api/users/me", headers=headers, timeout=10)


def warm(url: str, headers: dict) -> None:
    """Until ``url``'s process answers ``headers``' user from its memory."""
    before = local_hits(url)
    deadline = time.monotonic() + 10
    while local_hits(url) <= before:
        assert me(url, headers).status_code == 200
        assert time.monotonic() < deadline, "the process never used its memory"
        time.sleep(0.05)


def patch(url: str, admin, uid: int, **fields) -> requests.Response:
    resp = requests.patch(f"{url}/api/admin/users/{uid}", json=fields, headers=admin.headers, timeout=30)
    assert resp.status_code == 200, resp.text
    return resp


def test_a_change_through_one_process_is_seen_by_the_other_on_its_very_next_request(auth, servers):
    a, b = servers
    admin, user = auth.admin(), auth.user()
    warm(b, user.headers)
    for tier in ("pro", "elite", "starter", "elite", "pro", "starter", "pro", "elite"):
        patch(a, admin, user.id, tier=tier)
        assert me(b, user.headers).json()["tier"] == tier  # the very next request
        warm(b, user.headers)  # ... and b answers from memory again before the next change
    patch(a, admin, user.id, is_active=False)
    resp = me(b, user.headers)
    assert resp.status_code == 403 and resp.json()["error"]["code"] == "inactive_user"
    patch(a, admin, user.id, is_active=True)
    assert me(b, user.headers).status_code == 200
    warm(b, user.headers)
    assert requests.post(a + "/api/auth/logout", headers=user.headers, timeout=10).status_code == 204
    resp = me(b, user.headers)
    assert resp.status_code == 401 and resp.json()["error"]["code"] == "token_revoked"


def test_a_process_that_does_not_acknowledge_delays_the_write_not_the_guarantee(auth, servers, app):
    a, b = servers
    admin, user = auth.admin(), auth.user()
    warm(b, user.headers)
    client = redis.Redis.from_url(app.config["REDIS_URL"])
    silent = client.pubsub()
    silent.subscribe(auth_invalidation.channel(client))  # receives every invalidation, acknowledges none
    try:
        started = time.monotonic()
        patch(a, admin, user.id, tier="elite")
        took = time.monotonic() - started
    finally:
        silent.close()
    assert LEASE <= took < LEASE + 2  # the writer waited out the lease, then answered
    assert me(b, user.headers).json()["tier"] == "elite"


def test_a_cut_listener_connection_is_safe_and_the_memory_comes_back(auth, servers, app):
    a, b = servers
    admin, user = auth.admin(), auth.user()
    warm(b, user.headers)
    redis.Redis.from_url(app.config["REDIS_URL"]).client_kill_filter(_type="pubsub")
    patch(a, admin, user.id, tier="pro")
    assert me(b, user.headers).json()["tier"] == "pro"
    warm(b, user.headers)  # reconnected, cleared, caught up: memory in use again
    patch(a, admin, user.id, tier="elite")
    assert me(b, user.headers).json()["tier"] == "elite"


@pytest.fixture
def servers_on_own_redis(own_redis, app, base_config, tmp_path):
    with two_servers(base_config, tmp_path, REDIS_URL=own_redis.url) as urls:
        yield urls


def test_redis_going_away_never_leaves_a_deactivated_user_in(auth, own_redis, servers_on_own_redis):
    a, b = servers_on_own_redis
    admin, user = auth.admin(), auth.user()
    warm(b, user.headers)
    own_redis.kill()
    patch(a, admin, user.id, is_active=False)  # SQL commits; Redis is gone
    resp = me(b, user.headers)
    assert resp.status_code == 403 and resp.json()["error"]["code"] == "inactive_user"


def test_a_deployment_on_another_redis_database_does_not_slow_writes(app, client, auth):
    """Pub/sub channels are server-wide; acknowledgements are per database."""
    admin, user = auth.admin(), auth.user()
    url = app.config["REDIS_URL"]
    other = redis.Redis.from_url(url.rsplit("/", 1)[0] + f"/{(int(url.rsplit('/', 1)[1]) + 1) % 16}")
    listener = other.pubsub()
    listener.subscribe(auth_invalidation.channel(other))  # another deployment's process, silent
    try:
        started = time.monotonic()
        resp = client.patch(f"/api/admin/users/{user.id}", json={"tier": "pro"}, headers=admin.headers)
        took = time.monotonic() - started
    finally:
        listener.close()
    assert resp.status_code == 200 and took < LEASE


def test_a_listener_that_is_gone_is_started_again_by_the_next_request(app, client, auth, caplog):
    import threading

    user = auth.user()
    assert client.get("/api/users/me", headers=user.headers).status_code == 200
    local = app.extensions["local_auth"]
    assert local.thread is not None and local.thread.is_alive() and local.starts == 1
    gone = threading.Thread(target=lambda: None)
    gone.start()
    gone.join()
    local.thread = gone  # as if the listener had died
    assert client.get("/api/users/me", headers=user.headers).status_code == 200
    assert local.thread is not gone and local.thread.is_alive() and local.starts == 2
    assert "listener was not running; starting it again" in caplog.text
