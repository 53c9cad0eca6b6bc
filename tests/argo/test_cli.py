"""The `flask --app argo_app signals ...` commands."""

from __future__ import annotations

from argo_app.generator.engine import DEFAULT_END
from argo_app.generator.market import synthetic_bars

from .test_generator import write_csv


def run(app, *args):
    return app.test_cli_runner().invoke(args=["signals", *args])


def test_generate_then_stats(argo_app_):
    result = run(argo_app_, "generate", "--count", "300", "--seed", "3")
    assert result.exit_code == 0, result.output
    assert "generated 300 signals" in result.output and "stored 300 new" in result.output
    again = run(argo_app_, "generate", "--count", "300", "--seed", "3")
    assert "stored 0 new" in again.output  # same seed -> same signals -> duplicates
    stats = run(argo_app_, "stats")
    assert stats.exit_code == 0
    assert "total: 300" in stats.output
    assert "newest: 2026-01-05T16:00:00Z" in stats.output
    assert "premium (confidence >= 95):" in stats.output


def test_generate_symbols_and_end(argo_app_):
    result = run(
        argo_app_, "generate", "--count", "50", "--symbols", "eth-usd,qqq", "--end", "2026-02-01T00:00:00Z"
    )
    assert result.exit_code == 0, result.output
    stats = argo_app_.extensions["argo_store"].stats()
    assert set(stats["by_symbol"]) == {"ETH-USD", "QQQ"}
    assert stats["newest_timestamp"] <= "2026-02-01T00:00:00Z"


def test_generate_rejects_bad_input(argo_app_):
    for args in (["--symbols", "a b"], ["--count", "0"], ["--end", "yesterday-ish"]):
        result = run(argo_app_, "generate", *args)
        assert result.exit_code != 0
        assert "Error" in result.output


def test_import_csv(argo_app_, tmp_path):
    write_csv(tmp_path / "nvda.csv", synthetic_bars("NVDA", 9, 200, DEFAULT_END))
    result = run(argo_app_, "import-csv", str(tmp_path / "nvda.csv"))
    assert result.exit_code == 0, result.output
    assert "NVDA: 200 bars" in result.output
    assert argo_app_.extensions["argo_store"].stats()["by_symbol"]["NVDA"] > 0


def test_import_csv_errors(argo_app_, tmp_path):
    (tmp_path / "bad.csv").write_text("date,open\n2026-01-01,1\n")
    result = run(argo_app_, "import-csv", str(tmp_path / "bad.csv"))
    assert result.exit_code == 1
    assert "missing column" in result.output
    assert run(argo_app_, "import-csv", str(tmp_path / "missing.csv")).exit_code == 2


def test_loop_runs_the_requested_ticks(argo_app_):
    result = run(argo_app_, "loop", "--interval", "0.01", "--iterations", "5", "--seed", "2")
    assert result.exit_code == 0, result.output
    assert result.output.count("tick ") == 5
    assert argo_app_.extensions["argo_store"].stats()["total"] > 0
