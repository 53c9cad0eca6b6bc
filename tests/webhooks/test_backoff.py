"""The production retry schedule: first retry within 10 s, retries for at least an hour,
enough attempts in 24 h to disable a dead endpoint."""

from __future__ import annotations

from config import config_for


def _schedule(config, horizon):
    from app.webhooks.delivery import backoff_seconds

    elapsed, delays = 0.0, []
    while True:
        delay = backoff_seconds(len(delays) + 1, config)
        if elapsed + delay >= horizon:
            return delays
        delays.append(delay)
        elapsed += delay


def test_production_defaults(base_config):
    config = config_for("testing").build(dict(base_config))
    for _ in range(200):
        first = _schedule(config, config["WEBHOOK_RETRY_FOR_SECONDS"])
        assert 0 < first[0] <= 10
        assert sum(first) >= 3600  # still retrying after an hour
        assert len(first) >= config["WEBHOOK_DISABLE_MIN_ATTEMPTS"]
        assert max(first) <= config["WEBHOOK_RETRY_MAX_DELAY_SECONDS"]
    assert config["WEBHOOK_TIMEOUT_SECONDS"] == 5.0


def test_jitter_spreads_retries():
    from app.webhooks.delivery import backoff_seconds

    config = {"WEBHOOK_RETRY_BASE_SECONDS": 5.0, "WEBHOOK_RETRY_MAX_DELAY_SECONDS": 1800.0}
    assert len({round(backoff_seconds(3, config), 3) for _ in range(50)}) > 10


def test_private_addresses_and_http_are_production_only_refusals(base_config):
    dev = config_for("testing").build(dict(base_config))
    assert dev["WEBHOOK_ALLOW_PRIVATE"] is True and dev["WEBHOOK_REQUIRE_HTTPS"] is False
    prod = config_for("production").build({k: v for k, v in base_config.items() if k != "APP_ENV"})
    assert prod["WEBHOOK_ALLOW_PRIVATE"] is False and prod["WEBHOOK_REQUIRE_HTTPS"] is True
