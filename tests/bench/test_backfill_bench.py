"""`make bench-backfill` on a tiny sample: the report's structure and arithmetic, never its timings."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from bench import backfill as bench

pytestmark = [pytest.mark.engine, pytest.mark.slow]

PATHS = ("decode only", "cli, 1 worker", "cli, 2 workers", "fan-out fn")


@pytest.fixture(scope="module")
def report() -> dict[str, Any]:
    return bench.run(passes=1, samples=["mainnet"], limit=2)


def test_every_path_wrote_the_whole_sample_once_per_pass(report: dict[str, Any]) -> None:
    (sample,) = report["samples"]
    assert (sample["name"], sample["ledgers"], sample["passes"]) == ("mainnet", 2, 1)
    assert list(sample["paths"]) == list(PATHS)
    for name, path in sample["paths"].items():
        assert path["ledgers"] == 2, name  # the warm-up pass is not counted
        assert path["seconds"] > 0 and path["rate"] == pytest.approx(path["ledgers"] / path["seconds"])
        assert 0 <= path["rollup_seconds"] < path["seconds"]
    # Only the CLI rolls up (the views do it for the fan-out); only the fan-out path separates its waits.
    assert sample["paths"]["cli, 1 worker"]["rollup_windows"] > 0
    assert sample["paths"]["fan-out fn"]["rollup_seconds"] == 0
    assert 0 < sample["paths"]["fan-out fn"]["wait_seconds"] < sample["paths"]["fan-out fn"]["seconds"]
    # Both ledgers have trades: parts and a record each at --batch-size 1; one batch of both at the default size.
    assert sample["inserts_per_ledger"]["cli"] == 2.0
    assert sample["inserts_per_cli_batch"] == 2.0
    assert sample["inserts_per_ledger"]["fan-out fn"] <= sample["inserts_per_ledger"]["cli"]
    assert sample["egress_kb_per_ledger"] > 0 and sample["archive_kb_per_ledger"] > 0


def test_ratios_are_against_baselines_of_the_same_run(report: dict[str, Any]) -> None:
    paths = report["samples"][0]["paths"]
    ratios = report["ratios"]["mainnet"]
    assert ratios["cli_1_worker_vs_decode_only"] == pytest.approx(
        paths["cli, 1 worker"]["rate"] / paths["decode only"]["rate"]
    )
    assert ratios["cli_2_workers_vs_1_worker"] == pytest.approx(
        paths["cli, 2 workers"]["write_rate"] / paths["cli, 1 worker"]["write_rate"]
    )
    assert ratios["fan_out_fn_vs_decode_only"] == pytest.approx(
        paths["fan-out fn"]["rate"] / paths["decode only"]["rate"]
    )


def test_the_projection_is_the_measured_rates_applied_to_the_full_history(report: dict[str, Any]) -> None:
    projection = report["projection"]
    sample = report["samples"][0]
    assert projection["full_history_ledgers"] == 57_000_000
    assert "reference-system.md" in projection["full_history_source"]
    local = projection["local"]
    assert local["days"] == pytest.approx(57_000_000 / local["rate_ledgers_per_s"] / 86_400, rel=0.01)
    # Each of the 2 workers also waits ~85 ms per insert, and a default batch of 16 ledgers shares its inserts.
    two_workers = sample["paths"]["cli, 2 workers"]["write_rate"]
    rollup_share = local["rate_ledgers_per_s"] / two_workers
    per_ledger_s = 2 / two_workers + sample["inserts_per_cli_batch"] / 16 * 0.085
    assert local["remote_box_rate_ledgers_per_s"] == pytest.approx(2 / per_ledger_s * rollup_share, rel=0.01)
    assert local["remote_box_rate_ledgers_per_s"] < local["rate_ledgers_per_s"]
    fan_out = projection["fan_out"]
    cpu_rate = sample["paths"]["fan-out fn"]["cpu_rate"]
    expected = 1 / cpu_rate + 0.085 * (3 / fan_out["ledgers_per_insert"] + 2 / fan_out["ledgers_per_message"])
    assert fan_out["seconds_per_ledger"] == pytest.approx(expected, abs=1e-4)
    assert fan_out["hours_at_concurrency"] == pytest.approx(
        57_000_000 * fan_out["seconds_per_ledger"] / fan_out["concurrency"] / 3600, abs=0.1
    )
    egress = next(line for line in fan_out["lines"] if "egress" in line["item"])
    assert f"{sample['egress_kb_per_ledger']:g} KB per ledger" in egress["basis"]
    assert any("85 ms" in item for item in fan_out["extrapolated"])


def test_the_printed_report_names_every_figure(report: dict[str, Any]) -> None:
    lines: list[str] = []
    bench.render(report, lines.append)
    text = "\n".join(lines)
    for name in PATHS:
        assert f"  {name}" in text
    for phrase in ("ratios vs decode only", "2 workers / 1 worker", "full history: 57,000,000 ledgers", "fan-out:"):
        assert phrase in text
    assert "extrapolated:" in text and "locally:" in text


def test_bad_options_are_refused_naming_them(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        bench.main(["--passes", "0"])
    assert "--passes must be at least 1, got 0" in capsys.readouterr().err
    with pytest.raises(ValueError, match="unknown sample 'testnet'; known: mainnet, load-test"):
        bench.build_archive(tmp_path, ["testnet"])
