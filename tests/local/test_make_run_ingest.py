"""What `make run` does after start: ingest ledger files through the edge and show the candles."""

import io
import json
import re
from collections.abc import Iterator
from pathlib import Path

import boto3
import pytest
from moto import mock_aws

from lambdas.ledger_processor.cli import main as cli_main
from lambdas.ledger_processor.handler import s3_objects
from lambdas.ledger_processor.ledger_files import ledger_key_for
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


def test_cli_reconcile_lists_the_gaps_and_enqueues_them(plane: DataPlane, monkeypatch: pytest.MonkeyPatch) -> None:
    ingested = MAINNET_FIXTURES / "ledger-63092990.xdr.gz"
    assert cli_main(["ingest", str(ingested), "--endpoints", str(plane.endpoints_file)], out=io.StringIO()) == 0
    monkeypatch.setenv("AWS_DEFAULT_REGION", "eu-central-1")
    with mock_aws():
        queue_url = boto3.client("sqs").create_queue(QueueName="ingest")["QueueUrl"]
        out = io.StringIO()
        argv = ["reconcile", "63092988", "63092992", "--endpoints", str(plane.endpoints_file)]
        argv += ["--enqueue", "--queue-url", queue_url, "--bucket", "ledgers"]
        assert cli_main(argv, out=out) == 0
        text = out.getvalue()
        assert "4 of 5 ledgers missing in [63092988, 63092992]" in text
        assert "  63092988-63092989\n  63092991-63092992\n" in text
        assert "enqueued 4 ledger(s)" in text
        messages = boto3.client("sqs").receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10)["Messages"]
        keys = sorted(key for m in messages for _, key in s3_objects(m["Body"]))
        assert keys == sorted(ledger_key_for(seq) for seq in (63092988, 63092989, 63092991, 63092992))
        assert {json.loads(m["Body"])["Records"][0]["s3"]["bucket"]["name"] for m in messages} == {"ledgers"}


def test_cli_reconcile_rejects_a_reversed_range(plane: DataPlane) -> None:
    out = io.StringIO()
    assert cli_main(["reconcile", "10", "5", "--endpoints", str(plane.endpoints_file)], out=out) == 2
    assert "END (5) is before START (10)" in out.getvalue()
