"""Only answered feed requests (2xx) use the daily quota; 4xx leave it as it was."""

from __future__ import annotations

import threading
import time

import pytest
import requests

from app.accounts.user_cache import LOCAL_HITS
from tests.conftest import ServerThread
from tests.feed_helpers import crafted

URL = "/api/signals/latest"
LIMIT = 5
BAD = [
    ({"limit": "abc"}, 422, "validation_error"),
    ({"limit": 0}, 422, "validation_error"),
    ({"bogus": 1}, 422, "validation_error"),
    ({"limit": 5, "limit ": 1, "offset": -1}, 422, "validation_error"),
    ({"premium_only": "true"}, 403, "tier_required"),
]


@pytest.fixture
def config_overrides():
    return {"TIER_QUOTA_OVERRIDES": {"starter": LIMIT}}


def remaining(resp) -> int:
    return int(resp.headers["X-RateLimit-Remaining"])


def quota_used(redis_client) -> int:
    keys = redis_client.keys("alpine:quota:*")
    return int(redis_client.get(keys[0])) if keys else 0


def test_4xx_feed_requests_leave_the_quota_as_it_was(feed_app, client, argo, tier_headers, redis_client):
    argo.store.insert_many(crafted(20))
    headers = tier_headers("starter")
    for params, status, code in BAD:  # nothing used yet
        resp = client.get(URL, query_string=params, headers=headers)
        assert resp.status_code == status and resp.get_json()["error"]["code"] == code, params
        assert resp.headers["X-RateLimit-Limit"] == str(LIMIT)
        assert remaining(resp) == LIMIT, params
    ok = client.get(URL, headers=headers)
    assert ok.status_code == 200 and remaining(ok) == LIMIT - 1
    for params, status, _ in BAD:  # after one answered request
        resp = client.get(URL, query_string=params, headers=headers)
        assert resp.status_code == status and remaining(resp) == LIMIT - 1, params
    assert quota_used(redis_client) == 1
    codes = [client.get(URL, headers=headers).status_code for _ in range(LIMIT)]
    assert codes == [200] * (LIMIT - 1) + [429]
    # A 429 uses nothing either: the counter says exactly the answered requests.
    assert quota_used(redis_client) == LIMIT


def test_exact_quota_under_concurrency_with_4xx_in_the_mix(feed_app, argo, tier_headers, redis_client):
    """20 bad and 8 good requests at once from one user: at most LIMIT are answered,
    every refused one gives its slot back, and afterwards exactly LIMIT minus
    those answered remain. (While a bad request holds its slot a good one may be
    refused 429 when the quota is nearly used: the slot is taken before the
    parameters are read, so that the quota can never be exceeded.)"""
    argo.store.insert_many(crafted(20))
    headers = tier_headers("starter")
    server = ServerThread(feed_app).start()
    try:
        start = threading.Barrier(28)
        results = []

        def call(params):
            with requests.Session() as session:
                start.wait(10)
                resp = session.get(server.url + URL, params=params, headers=headers, timeout=20)
                results.append((params is None, resp.status_code))

        threads = [threading.Thread(target=call, args=({"limit": "abc"},)) for _ in range(20)]
        threads += [threading.Thread(target=call, args=(None,)) for _ in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(30)
        assert len(results) == 28
        assert {status for good, status in results if not good} <= {422, 429}
        assert {status for good, status in results if good} <= {200, 429}
        answered = sum(1 for good, status in results if good and status == 200)
        assert answered <= LIMIT
        assert quota_used(redis_client) == answered  # every refused request gave its slot back
        more = [
            requests.get(server.url + URL, headers=headers, timeout=20).status_code
            for _ in range(LIMIT - answered + 1)
        ]
        assert more == [200] * (LIMIT - answered) + [429]
        assert quota_used(redis_client) == LIMIT
    finally:
        server.stop()


def test_the_quota_counts_on_after_redis_forgets_its_scripts(
    feed_app, client, argo, tier_headers, redis_client
):
    """The slot is one cached Redis script: a restarted or flushed Redis has none."""
    argo.store.insert_many(crafted(20))
    headers = tier_headers("starter")
    # Until this process knows the caller from memory: then the slot is the script alone.
    hits = LOCAL_HITS._value.get()
    while LOCAL_HITS._value.get() == hits:
        assert client.get("/api/users/me", headers=headers).status_code == 200
        time.sleep(0.05)
    seen = []
    for _ in range(3):
        redis_client.script_flush()
        resp = client.get(URL, headers=headers)
        assert resp.status_code == 200
        seen.append(remaining(resp))
    assert seen == [LIMIT - 1, LIMIT - 2, LIMIT - 3] and quota_used(redis_client) == 3
    assert redis_client.ttl(redis_client.keys("alpine:quota:*")[0]) > 24 * 3600  # the day's counter expires
