"""What `make run` does after start: ingest ledger files through the edge and show the candles."""

import io
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from lambdas.ledger_processor.cli import main as cli_main
from local.dataplane import MAINNET_FIXTURES, DataPlane, candle_overview, ledger_files_in, start_dataplane

TESTNET = MAINNET_FIXTURES.parent / "testnet-local" / "FFFFFC18--999.xdr.zstd"


@pytest.fixture(scope="module")
def plane(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DataPlane]:
    with start_dataplane(tmp_path_factory.mktemp("make-run"), progress=lambda _: None) as running:
        yield running


def test_default_ingest_set_is_the_mainnet_fixtures() -> None:
    files = ledger_files_in([MAINNET_FIXTURES])
    assert len(files) == 6
    assert all(f.parent == MAINNET_FIXTURES for f in files)
    assert ledger_files_in([Path("/nonexistent")]) == []


def test_cli_ingest_writes_candles_visible_to_the_api_identity(plane: DataPlane) -> None:
    out = io.StringIO()
    fixture = MAINNET_FIXTURES / "ledger-63092990.xdr.gz"
    assert cli_main(["ingest", str(fixture), "--endpoints", str(plane.endpoints_file)], out=out) == 0
    assert "ingested 1 ledger(s); ok" in out.getvalue()
    overview = candle_overview(plane)
    counts = dict(re.findall(r"(1m|15m|1h|1d|1M) (\d+)", overview.splitlines()[0]))
    assert int(counts["1m"]) > 0
    assert counts["1M"] == counts["1d"]  # one ledger: every pair has one bucket per coarse tier
    assert "native / USDC:GA5Z…" in overview


def test_cli_ingest_of_another_network_fails_without_writing(plane: DataPlane) -> None:
    before = candle_overview(plane).splitlines()[0]
    out = io.StringIO()
    assert cli_main(["ingest", str(TESTNET), "--endpoints", str(plane.endpoints_file)], out=out) == 1
    assert "with failures" in out.getvalue()
    assert candle_overview(plane).splitlines()[0] == before
