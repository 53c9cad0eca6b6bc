"""Signals from Argo whose sha256 is not a string (a list, an object, a number):
rejected as malformed and counted, never a TypeError that sinks the whole batch."""

from __future__ import annotations

import pytest

from app.feed import signal_ingest
from tests.feed_helpers import crafted, metric


@pytest.mark.parametrize("source, use_recent", [("feed", True), ("sync", False)])
@pytest.mark.parametrize("bad_sha", [["a", "b"], {"x": 1}, 7, None])
def test_a_non_string_sha256_is_malformed_and_the_rest_still_pass(app, source, use_recent, bad_sha):
    good = crafted(2)
    hostile = dict(good[0], sha256=bad_sha)
    before = metric("alpine_signals_rejected_total", reason="malformed", source=source)
    with app.app_context():
        accepted = signal_ingest.accept_many([hostile, *good], source, use_recent=use_recent)
        assert signal_ingest.check(hostile, source) is None
    assert [s["sha256"] for s in accepted] == [s["sha256"] for s in good]
    assert metric("alpine_signals_rejected_total", reason="malformed", source=source) == before + 2
