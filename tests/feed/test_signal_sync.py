"""`signals sync` (CLI and Celery task) fills the local copy, idempotently."""

from __future__ import annotations

from sqlalchemy import func, select

from app.extensions import db
from app.feed.models import Signal
from tests.feed_helpers import crafted, metric


def _count(app) -> int:
    with app.app_context():
        return db.session.execute(select(func.count()).select_from(Signal)).scalar_one()


def test_cli_sync_fills_the_copy_idempotently(feed_app, argo, runner):
    with argo.app.app_context():  # Argo's own CLI, in Argo's app context
        result = argo.app.test_cli_runner().invoke(
            args=["signals", "generate", "--count", "300", "--seed", "1"]
        )
    assert result.exit_code == 0, result.output
    feed_app.config["SIGNAL_SYNC_PAGE_SIZE"] = 120

    first = runner.invoke(args=["signals", "sync"])
    assert first.exit_code == 0, first.output
    assert "fetched 300, stored 300 new, rejected 0" in first.output
    assert _count(feed_app) == 300

    again = runner.invoke(args=["signals", "sync"])
    assert again.exit_code == 0 and "stored 0 new" in again.output
    assert "synced 1 page(s)" in again.output  # caught up after the first page
    assert _count(feed_app) == 300

    # Newer signals arrive: only they are stored.
    argo.store.insert_many(crafted(7))
    assert "stored 7 new" in runner.invoke(args=["signals", "sync"]).output
    assert _count(feed_app) == 307


def test_celery_task_syncs_and_rejects_tampered_signals(feed_app, argo):
    from workers.tasks import sync_signals

    signals = crafted(10)
    bad = dict(signals[-1], confidence=12.5)  # altered field, same sha256
    argo.store.insert_many(signals[:-1] + [bad])
    before = metric("alpine_signals_rejected_total", reason="sha256_mismatch", source="sync")
    with feed_app.app_context():
        outcome = sync_signals.apply().get()
    assert outcome == {"pages": 1, "fetched": 10, "stored": 9, "rejected": 1}
    assert metric("alpine_signals_rejected_total", reason="sha256_mismatch", source="sync") == before + 1
    with feed_app.app_context():
        stored = set(db.session.execute(select(Signal.sha256)).scalars())
        assert bad["sha256"] not in stored and len(stored) == 9
        assert sync_signals.apply().get()["stored"] == 0


def test_sync_with_argo_down_fails_clearly(app, runner):
    result = runner.invoke(args=["signals", "sync"])  # base_config's ARGO_URL: nothing listens
    assert result.exit_code != 0
    assert "Argo is unavailable" in result.output
    with app.app_context():
        from workers.tasks import sync_signals

        assert sync_signals.apply().get()["error"] == "upstream_unavailable"
