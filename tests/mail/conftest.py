"""Account-mail fixtures: a real SMTP server (aiosmtpd, in this process) and a real
Celery worker process, with a private redis-server as the broker.

The private Redis is never FLUSHDB'd while the worker runs (that would drop
kombu's queue bindings and, with them, every message published afterwards);
between tests only the app's own ``alpine:*`` keys are deleted.
"""

from __future__ import annotations

import time

import pytest

from app.mail.sink import MailSink
from tests.conftest import free_port
from tests.hardening.servers import RedisServer, celery_worker, env_with

PUBLIC_URL = "http://alpine.test:5000"


@pytest.fixture(scope="module")
def private_redis(tmp_path_factory):
    server = RedisServer(tmp_path_factory.mktemp("mail-redis")).start()
    yield server
    server.kill()


@pytest.fixture(scope="module")
def smtp_sink():
    sink = MailSink(free_port()).start()
    yield sink
    sink.stop()


@pytest.fixture(scope="module")
def mail_settings(private_redis, smtp_sink):
    return {
        "REDIS_URL": private_redis.url,
        "MAIL_SERVER": "127.0.0.1",
        "MAIL_PORT": smtp_sink.port,
        "MAIL_TIMEOUT": 5.0,
        "MAIL_RETRY_BASE_SECONDS": 0.5,
        "PUBLIC_URL": PUBLIC_URL,
    }


@pytest.fixture(scope="module")
def mail_worker(_schema, base_config, mail_settings, tmp_path_factory):
    log_path = tmp_path_factory.mktemp("mail-worker") / "worker.log"
    env = env_with({**base_config, **mail_settings})
    worker = celery_worker(env, log_path)
    worker.argv[worker.argv.index("--loglevel=WARNING")] = "--loglevel=INFO"
    worker.start()
    deadline = time.monotonic() + 60
    while "ready." not in worker.log():
        assert worker.alive(), worker.log()[-3000:]
        assert time.monotonic() < deadline, "the Celery worker did not start:\n" + worker.log()[-3000:]
        time.sleep(0.1)
    yield worker
    worker.terminate()


@pytest.fixture
def config_overrides(request, mail_settings):
    """The mail settings, plus a test's own (``parametrize(..., indirect=True)``)."""
    return {**mail_settings, **getattr(request, "param", {})}


@pytest.fixture(autouse=True)
def _clean_private_redis(private_redis):
    client = private_redis.client()
    keys = list(client.scan_iter("alpine:*"))
    if keys:
        client.delete(*keys)
    client.close()


@pytest.fixture
def delivered(app, smtp_sink, mail_worker):
    """``delivered(address, count=1)``: the messages, or a failure that shows the outbox and the worker's log."""
    from sqlalchemy import select

    from app.accounts.mail_models import AccountMail
    from app.extensions import db

    def wait(address: str, count: int = 1, timeout: float = 60.0):
        try:
            return smtp_sink.wait_for(address, count, timeout)
        except AssertionError as exc:
            with app.app_context():
                rows = [
                    (r.id, r.purpose, r.email, r.attempts, r.enqueued_at, r.sent_at, r.outcome, r.last_error)
                    for r in db.session.execute(select(AccountMail)).scalars()
                ]
            raise AssertionError(f"{exc}\noutbox: {rows}\nworker log:\n{mail_worker.log()[-4000:]}") from None

    return wait
