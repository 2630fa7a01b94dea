"""Backfill through the real mTLS edge into the real engine: interrupted, resumed, equal to live ingestion."""

from __future__ import annotations

import gzip
import io
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import boto3
import pytest
import zstandard
from moto import mock_aws

from lambdas.api import handler as api_handler
from lambdas.backfill.cli import main as cli_main
from lambdas.backfill.progress_table import live_floor, read_progress
from lambdas.backfill.run import Plan, RunOptions, WorkQueue, make_plan, run_backfill, windows
from lambdas.backfill.source import DirectorySource, SourceError, open_source
from lambdas.common.clickhouse_client import edge_client
from lambdas.common.edge_clickhouse import FixedClickHouse
from lambdas.ledger_processor.ingest_files import ingest_files
from lambdas.ledger_processor.ledger_files import ledger_key_for
from lambdas.ledger_processor.ledger_ingest import prepare_ledger
from lambdas.ledger_processor.values import PUBNET_PASSPHRASE
from lambdas.ledger_processor.writer import write_ledger
from local.dataplane import MAINNET_FIXTURES, DataPlane
from tests.lambdas.api.events import FakeContext, answer, rest_event
from tests.lambdas.ledger_processor.test_candles_engine import TIERS, fresh_prices, snapshot

pytestmark = [pytest.mark.engine, pytest.mark.slow]

CLUSTER = {63092988: "ledger-63092988.xdr.gz", 63092990: "ledger-63092990.xdr.gz", 63092996: "ledger-63092996.xdr.gz"}
FIRST, LAST = 63092988, 63092996


def to_zstd(path: Path) -> bytes:
    raw = path.read_bytes()
    if raw.startswith(b"\x1f\x8b"):
        raw = gzip.decompress(raw)
    elif raw.startswith(b"\x28\xb5\x2f\xfd"):
        return raw
    return zstandard.ZstdCompressor().compress(raw)


@pytest.fixture(scope="module")
def archive(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The cluster of mainnet fixtures laid out as a SEP-54 archive (zstd, partition folders)."""
    root = tmp_path_factory.mktemp("archive")
    for seq, name in CLUSTER.items():
        target = root / ledger_key_for(seq)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(to_zstd(MAINNET_FIXTURES / name))
    (root / "README.txt").write_text("not a ledger")
    return root


def candles(admin: Any) -> dict[str, Any]:
    snap = snapshot(admin)
    return {k: snap[k] for k in (*TIERS, "parts")}


def options(plane: DataPlane, archive: Path, **kw: Any) -> RunOptions:
    return RunOptions(str(plane.endpoints_file), str(archive), PUBNET_PASSPHRASE, checkpoint_seconds=0.0, **kw)


def backfill(plane: DataPlane, archive: Path, first: int = FIRST, last: int = LAST, **kw: Any) -> Any:
    client = edge_client(plane.endpoints_file, "ingestion")
    try:
        plan = make_plan(client, first, last)
    finally:
        client.close()
    return run_backfill(plan, options(plane, archive, **kw))


def test_interrupted_and_resumed_backfill_gives_the_candles_of_live_ingestion(
    plane: DataPlane, archive: Path, admin: Any
) -> None:
    fresh_prices(admin)
    ingest_files([MAINNET_FIXTURES / n for n in CLUSTER.values()], plane.endpoints_file, progress=lambda _: None)
    live = candles(admin)
    assert sum(len(v) for v in live.values()) > 100

    fresh_prices(admin)
    first = backfill(plane, archive, batch_size=1, stop_after_batches=1)
    assert first.interrupted and first.status == "paused"
    # Top down: the newest ledger first, and the watermark claims exactly it.
    assert [o.ledger for o in first.written] == [63092996]
    (row,) = read_progress(admin, "history")
    assert (row.status, row.current_ledger, row.start_ledger, row.target_ledger) == ("paused", 63092996, FIRST, LAST)
    assert row.earliest_data_available == datetime.fromtimestamp(1781828531, UTC)
    assert row.ledgers_remaining == 63092996 - FIRST
    assert row.progress_pct == round(100 / 9, 2)  # 1 of the 9 ledgers of the range is known complete

    # The two remaining ledgers as one batch: one worker writes them as one group of inserts.
    second = backfill(plane, archive, workers=2, batch_size=2)
    assert not second.interrupted
    assert sorted(o.ledger for o in second.written) == [63092988, 63092990]
    # The archive lacks the ledgers between the fixtures: the task stays open and claims no more than it has.
    assert second.absent == [63092989, *range(63092991, 63092996)]
    assert second.status == "paused" and second.watermark == 63092996
    assert candles(admin) == live

    third = backfill(plane, archive, workers=2)
    assert third.written == [] and candles(admin) == live
    (row,) = read_progress(admin, "history")
    assert row.status == "paused" and row.current_ledger == 63092996

    # GET /v1/backfill/status reports it, read through the edge as the api identity.
    reader = edge_client(plane.endpoints_file, "api")
    api_handler.set_runtime(api_handler.Runtime(clickhouse=FixedClickHouse(reader)))
    try:
        status = answer(api_handler.handler(rest_event("GET", "/v1/backfill/status"), FakeContext()))
    finally:
        api_handler.set_runtime(None)
        reader.close()
    assert status.status == 200
    assert status.body["realtime_tip_ledger"] == 63092996
    for stream in ("sdex", "soroban_amm"):
        section = status.body[stream]
        assert (section["task"], section["status"]) == ("history", "paused")
        assert (section["start_ledger"], section["target_ledger"], section["current_ledger"]) == (FIRST, LAST, 63092996)
        assert section["progress_pct"] == row.progress_pct == round(100 / 9, 2)
        assert section["ledgers_remaining"] == row.ledgers_remaining == 63092996 - FIRST


def test_a_range_the_archive_holds_completes_with_honest_coverage(plane: DataPlane, archive: Path, admin: Any) -> None:
    fresh_prices(admin)
    report = backfill(plane, archive, first=63092990, last=63092990)
    assert report.status == "completed" and report.watermark == 63092990
    (row,) = read_progress(admin, "history")
    assert row.status == "completed" and row.completed_at is not None
    assert row.progress_pct == 100.0 and row.ledgers_remaining == 0
    assert row.earliest_data_available == datetime.fromtimestamp(1781828497, UTC)


def test_a_run_that_died_before_its_rollup_is_rolled_on_resume(plane: DataPlane, archive: Path, admin: Any) -> None:
    fresh_prices(admin)
    ingest_files([MAINNET_FIXTURES / CLUSTER[63092996]], plane.endpoints_file, progress=lambda _: None)
    expected = candles(admin)
    fresh_prices(admin)
    # An earlier run's checkpoint, then a ledger recorded by a run that died before its rollup.
    backfill(plane, archive, first=63092997, last=63092997)
    writer = edge_client(plane.endpoints_file, "ingestion")
    try:
        path = archive / ledger_key_for(63092996)
        write_ledger(writer, prepare_ledger(path.read_bytes(), path.name, PUBNET_PASSPHRASE, 63092996))
    finally:
        writer.close()
    assert admin.query("SELECT count() FROM prices.price_ohlcv_1m").result_rows[0][0] == 0
    report = backfill(plane, archive, first=63092996, last=63092997)
    assert report.written == []  # nothing to write: the ledger is recorded …
    assert candles(admin) == expected  # … and its minutes were rolled anyway


def test_cli_run_meets_the_live_range_and_status_prints_progress(plane: DataPlane, archive: Path, admin: Any) -> None:
    fresh_prices(admin)
    # "Live" ingestion holds 63092996: the default --to stops right below it.
    ingest_files([MAINNET_FIXTURES / CLUSTER[63092996]], plane.endpoints_file, progress=lambda _: None)
    client = edge_client(plane.endpoints_file, "ingestion")
    try:
        assert live_floor(client) == 63092996
    finally:
        client.close()
    out = io.StringIO()
    code = cli_main(
        [
            "run",
            "--from",
            str(FIRST),
            "--source",
            str(archive),
            "--workers",
            "1",
            "--endpoints",
            str(plane.endpoints_file),
        ],
        out=out,
    )
    text = out.getvalue()
    assert "--to 63092995: right below the live range, which starts at ledger 63092996" in text
    assert "wrote 2 ledgers" in text and "6 ledgers of the range are not in" in text
    assert "63092989, 63092991-63092995" in text
    assert code == 1  # not complete: the archive lacks ledgers of the range
    out = io.StringIO()
    assert cli_main(["status", "--endpoints", str(plane.endpoints_file)], out=out) == 0
    assert "history: paused, ledgers 63092988..63092995, complete down to 63092996" in out.getvalue()


def test_bad_arguments_are_named(plane: DataPlane, archive: Path, tmp_path: Path) -> None:
    out = io.StringIO()
    missing = tmp_path / "nope"
    assert cli_main(["run", "--from", "5", "--to", "9", "--source", str(missing), "--endpoints", "x"], out=out) == 2
    assert f"--source {str(missing)!r}: not a directory" in out.getvalue()
    out = io.StringIO()
    args = ["run", "--from", "9", "--to", "5", "--source", str(archive), "--endpoints", str(plane.endpoints_file)]
    assert cli_main(args, out=out) == 2
    assert "invalid ledger range --from 9 --to 5" in out.getvalue()
    out = io.StringIO()
    assert cli_main([*args[:-2], "--workers", "0"], out=out) == 2
    assert "--workers must be at least 1" in out.getvalue()
    out = io.StringIO()
    assert cli_main([*args[:-2], "--batch-size", "0"], out=out) == 2
    assert "--batch-size must be at least 1, got 0" in out.getvalue()
    with pytest.raises(SourceError, match="no bucket name"):
        open_source("s3://")


def test_sources_list_only_archive_keys_of_the_range(archive: Path) -> None:
    assert DirectorySource(archive).locate(FIRST, LAST) == {seq: ledger_key_for(seq) for seq in CLUSTER}
    assert DirectorySource(archive).locate(63092989, 63092989) == {}
    with mock_aws():
        s3 = boto3.client("s3", region_name="eu-central-1")
        s3.create_bucket(Bucket="archive", CreateBucketConfiguration={"LocationConstraint": "eu-central-1"})
        for seq in CLUSTER:
            s3.put_object(Bucket="archive", Key=f"pubnet/{ledger_key_for(seq)}", Body=b"x")
        s3.put_object(Bucket="archive", Key="pubnet/README", Body=b"x")
        source = open_source("s3://archive/pubnet", s3)
        assert source.locate(FIRST, LAST) == {seq: f"pubnet/{ledger_key_for(seq)}" for seq in CLUSTER}
        assert source.read(f"pubnet/{ledger_key_for(63092988)}") == b"x"


def test_windows_are_partition_aligned_and_cover_the_range_top_down() -> None:
    plan = Plan("t", 63_999, 128_001, 0)
    assert list(windows(plan)) == [(128_000, 128_001), (64_000, 127_999), (63_999, 63_999)]


def test_watermark_never_passes_an_outstanding_or_absent_ledger(archive: Path) -> None:
    class NoGaps:
        def query(self, sql: str, parameters: Any) -> Any:
            # Every ledger of the window is missing.
            start, count = parameters["start"], parameters["count"]
            return type("R", (), {"result_rows": [(n,) for n in range(start, start + count)]})()

    queue = WorkQueue(NoGaps(), DirectorySource(archive), Plan("t", FIRST, LAST, 0), batch_size=1)
    batches = queue.batches()
    assert next(batches) == [(63092996, ledger_key_for(63092996))]
    assert queue.watermark() == LAST + 1  # handed out, not written
    queue.completed(63092996)
    assert queue.watermark() == 63092996
    assert next(batches) == [(63092990, ledger_key_for(63092990))]
    queue.completed(63092990)
    assert queue.watermark() == 63092996  # 63092991..95 are absent from the archive
