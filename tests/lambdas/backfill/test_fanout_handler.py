"""The fan-out function called directly (never moto Lambda invoke): the SEP-54 archive and the mTLS bundle in moto,
ClickHouse through the real edge of the local data plane, candles rolled by the engine's refreshable views."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto import mock_aws

from lambdas.backfill import fanout_handler as fh
from lambdas.backfill.cli import main as cli_main
from lambdas.backfill.progress_table import read_progress
from lambdas.backfill.source import S3Source
from lambdas.common.clickhouse_client import edge_client
from lambdas.common.edge_clickhouse import FixedClickHouse
from lambdas.common.metric_catalog import ALL_METRICS, FANOUT_SERVICE
from lambdas.ledger_processor.ingest_files import ingest_files
from lambdas.ledger_processor.ledger_files import ledger_key_for
from lambdas.ledger_processor.values import PUBNET_PASSPHRASE
from local.dataplane import DataPlane
from tests.lambdas.backfill.test_backfill_dataplane import to_zstd
from tests.lambdas.ledger_processor.helpers import FIXTURES, MAINNET
from tests.lambdas.ledger_processor.test_candles_engine import TIERS, fresh_prices, refresh_chain, snapshot
from tests.lambdas.ledger_processor.test_handler_sqs import failed_ids, sqs_event
from tests.lambdas.workers.helpers import assert_catalog_metrics, emf_metrics

FAN_OUT_METRICS = tuple(m for m in ALL_METRICS if m.service == FANOUT_SERVICE)

pytestmark = [pytest.mark.engine, pytest.mark.slow]

ARCHIVE = "ledger-archive"
PREFIX = "v1.1/stellar/ledgers/pubnet/"
REGION = "us-east-2"
SECRET = "prices/local/clickhouse-mtls-ingestion"
CLUSTER = (63092988, 63092996)  # holds 63092988, 63092990 and 63092996; the archive lacks the six between
# Ranges covering exactly the six mainnet fixtures.
COMPLETE_RANGES = [(seq, seq) for seq in sorted(MAINNET, reverse=True)]


@dataclass
class FakeContext:
    remaining: list[int]
    function_name: str = "prices-local-backfill-fanout"
    memory_limit_in_mb: int = 1769
    invoked_function_arn: str = "arn:aws:lambda:eu-central-1:123456789012:function:prices-local-backfill-fanout"
    aws_request_id: str = "req-1"

    def get_remaining_time_in_millis(self) -> int:
        return self.remaining.pop(0) if len(self.remaining) > 1 else self.remaining[0]


def context(*remaining_ms: int) -> FakeContext:
    return FakeContext(list(remaining_ms) or [900_000])


def range_body(first: int, last: int, task: str = "history") -> str:
    return fh.RangeMessage(task, first, last).body()


def ranges_event(ranges: list[tuple[int, int]]) -> dict[str, Any]:
    return sqs_event([(f"{lo}-{hi}", range_body(lo, hi)) for lo, hi in ranges])


@pytest.fixture(autouse=True)
def _aws_env(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    for key, value in {
        "AWS_DEFAULT_REGION": "eu-central-1",
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "POWERTOOLS_TRACE_DISABLED": "true",
        "POWERTOOLS_METRICS_NAMESPACE": fh.NAMESPACE,
    }.items():
        monkeypatch.setenv(key, value)
    yield
    fh.set_runtime(None)


def environment(plane: DataPlane, **overrides: str) -> dict[str, str]:
    return {
        "CLICKHOUSE_URL": plane.edge_url,
        "MTLS_SECRET_NAME": SECRET,
        "CLICKHOUSE_SERVER_CA": "bundle",
        "ARCHIVE_URL": f"s3://{ARCHIVE}/{PREFIX}",
        "ARCHIVE_REGION": REGION,
        "NETWORK_PASSPHRASE": PUBNET_PASSPHRASE,
        "MAX_LEDGERS_PER_MESSAGE": "500",
        "LEDGERS_PER_INSERT": "2",
        **overrides,
    }


@contextmanager
def deployed(
    plane: DataPlane, tmp_path: Path, extra_objects: dict[int, bytes] | None = None, **env: str
) -> Iterator[Any]:
    """The archive bucket (every mainnet fixture in SEP-54 layout, zstd) and the ingestion bundle in moto, and the
    function's runtime built from its environment the way a cold start builds it."""
    with mock_aws():
        s3 = boto3.client("s3", region_name=REGION)
        s3.create_bucket(Bucket=ARCHIVE, CreateBucketConfiguration={"LocationConstraint": REGION})
        for seq, rel in MAINNET.items():
            s3.put_object(Bucket=ARCHIVE, Key=PREFIX + ledger_key_for(seq), Body=to_zstd(FIXTURES / rel))
        for seq, body in (extra_objects or {}).items():
            s3.put_object(Bucket=ARCHIVE, Key=PREFIX + ledger_key_for(seq), Body=body)
        s3.put_object(Bucket=ARCHIVE, Key=PREFIX + ".config.json", Body=b"{}")
        identity = plane.pki.identities["ingestion"]
        bundle = {
            "cert": identity.cert.read_text(),
            "key": identity.key.read_text(),
            "ca": plane.pki.edge_server_ca.read_text(),
        }
        boto3.client("secretsmanager").create_secret(Name=SECRET, SecretString=json.dumps(bundle))
        fh.set_runtime(fh.build_runtime(environment(plane, **env), pem_dir=tmp_path / "pem"))
        yield s3


def state(admin: Any) -> dict[str, Any]:
    """Candles of every tier, candle parts, unresolved swaps and the ingested records (FINAL, minus the
    insertion times and the file key, which differ between a file on disk and an archive object)."""
    snap = snapshot(admin)
    out: dict[str, Any] = {k: snap[k] for k in (*TIERS, "parts")}
    out["unresolved"] = admin.query(
        "SELECT * EXCEPT inserted_at FROM prices.unresolved_swaps FINAL ORDER BY ALL"
    ).result_rows
    out["ingested"] = admin.query(
        "SELECT ledger, close_time, sha256, trade_count, unresolved_count FROM prices.ingested_ledgers FINAL "
        "ORDER BY ledger"
    ).result_rows
    return out


def raw_rows(admin: Any) -> dict[str, int]:
    """Rows as stored, without FINAL: a second write of anything shows here before any merge."""
    return {
        table: int(admin.query(f"SELECT count() FROM prices.{table}").result_rows[0][0])
        for table in ("candle_parts_1m", "unresolved_swaps", "ingested_ledgers")
    }


def ingested(admin: Any) -> list[int]:
    return [
        int(r[0])
        for r in admin.query("SELECT DISTINCT ledger FROM prices.ingested_ledgers ORDER BY ledger").result_rows
    ]


# ---- the function on the engine ---------------------------------------------------------------------------


def test_a_poison_or_missing_ledger_fails_only_its_range(
    plane: DataPlane, admin: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    fresh_prices(admin)
    corrupt = to_zstd(FIXTURES / MAINNET[53312000])
    poison = {53312001: corrupt[:4] + bytes(b ^ 0x5A for b in corrupt[4:]), 999: to_zstd(FIXTURES / MAINNET[57500008])}
    with deployed(plane, tmp_path, poison):
        event = sqs_event(
            [
                ("cluster", range_body(*CLUSTER)),  # three written, six absent from the archive
                ("poison", range_body(53312000, 53312001)),  # 53312000 written, 53312001 corrupt
                ("key-mismatch", range_body(999, 999)),  # the object under 999's key holds 57500008
                ("good-57500008", range_body(57500008, 57500008)),
                ("good-51000294", range_body(51000294, 51000294)),
                ("not-json", "{{{"),
                ("too-long", range_body(1, 501)),
                ("extra-field", json.dumps({"task": "history", "first": 5, "last": 6, "x": 1})),
            ]
        )
        response = fh.handler(event, context())
    assert failed_ids(response) == {"cluster", "poison", "key-mismatch", "not-json", "too-long", "extra-field"}
    # Every good ledger of every range was written, the failed ranges' good ledgers included.
    assert ingested(admin) == sorted(MAINNET)
    assert admin.query("SELECT sum(trade_count) FROM prices.candle_parts_1m FINAL").result_rows == [(481,)]
    # What the dashboard's fan-out widget shows, published as the metric catalog defines it.
    published = [m for m in emf_metrics(capsys.readouterr().out) if m.name != "ColdStart"]
    assert_catalog_metrics(published, FAN_OUT_METRICS)
    totals = {d.name: sum(m.value for m in published if m.name == d.name) for d in FAN_OUT_METRICS}
    assert totals == {"RangesCompleted": 2, "RangesIncomplete": 3, "LedgersWritten": len(MAINNET), "TradesWritten": 481}


def test_redelivered_ranges_write_nothing_twice_and_match_live_ingestion(
    plane: DataPlane, admin: Any, tmp_path: Path
) -> None:
    fresh_prices(admin)
    ingest_files([FIXTURES / rel for rel in MAINNET.values()], plane.endpoints_file, progress=lambda _: None)
    refresh_chain(admin)
    live = state(admin)
    assert sum(len(live[t]) for t in TIERS) > 100

    fresh_prices(admin)
    with deployed(plane, tmp_path):
        event = ranges_event(COMPLETE_RANGES)
        assert failed_ids(fh.handler(event, context())) == set()
        refresh_chain(admin)  # what the refreshable views do in AWS within a minute
        first = state(admin)
        stored = raw_rows(admin)
        for _ in range(2):  # SQS delivers at least once: the same ranges again, twice
            assert failed_ids(fh.handler(event, context())) == set()
        refresh_chain(admin)
        assert raw_rows(admin) == stored
        assert state(admin) == first
    assert first == live


def test_a_range_interrupted_between_parts_and_records_is_completed_without_doubles(
    plane: DataPlane, admin: Any, tmp_path: Path
) -> None:
    fresh_prices(admin)
    with deployed(plane, tmp_path):
        assert failed_ids(fh.handler(ranges_event([CLUSTER]), context())) == {f"{CLUSTER[0]}-{CLUSTER[1]}"}
        clean_rows, clean = raw_rows(admin), state(admin)

        fresh_prices(admin)
        rt = fh.runtime()

        class RecordsRefused:
            """The writer's client, losing every insert of ingested records (a crash between parts and records,
            through the writer's own retries)."""

            def __init__(self, inner: Any) -> None:
                self.inner = inner

            def __getattr__(self, name: str) -> Any:
                return getattr(self.inner, name)

            def insert(self, table: str, *args: Any, **kwargs: Any) -> Any:
                if table == "prices.ingested_ledgers":
                    raise OSError("connection reset while writing the records")
                return self.inner.insert(table, *args, **kwargs)

        real = rt.clickhouse.client()
        fh.set_runtime(fh.Runtime(rt.settings, rt.source, FixedClickHouse(RecordsRefused(real))))
        response = fh.handler(ranges_event([CLUSTER]), context())
        assert failed_ids(response) == {f"{CLUSTER[0]}-{CLUSTER[1]}"}
        assert ingested(admin) == []  # parts of the first group landed, its records did not
        assert raw_rows(admin)["candle_parts_1m"] > 0
        fh.set_runtime(rt)
        fh.handler(ranges_event([CLUSTER]), context())  # the redelivery
        assert raw_rows(admin) == clean_rows  # the group's parts were not written a second time
        assert state(admin) == clean


def test_a_failed_archive_read_stops_the_range_and_its_redelivery_continues(
    plane: DataPlane, admin: Any, tmp_path: Path
) -> None:
    fresh_prices(admin)
    with deployed(plane, tmp_path, LEDGERS_PER_INSERT="1"):
        rt = fh.runtime()
        unreadable = PREFIX + ledger_key_for(63092990)

        class ConnectionDropped:
            """The archive, with the connection dropping on one object (an OSError, like a reset socket)."""

            def __init__(self, inner: Any) -> None:
                self.inner = inner

            def __getattr__(self, name: str) -> Any:
                return getattr(self.inner, name)

            def read(self, key: str) -> bytes:
                if key == unreadable:
                    raise ConnectionResetError("connection reset by peer")
                data: bytes = self.inner.read(key)
                return data

        fh.set_runtime(fh.Runtime(rt.settings, ConnectionDropped(rt.source), rt.clickhouse))
        assert failed_ids(fh.handler(ranges_event([CLUSTER]), context())) == {f"{CLUSTER[0]}-{CLUSTER[1]}"}
        # Transient, not poison: the range stopped at the unreadable ledger instead of writing past it.
        assert ingested(admin) == [63092996]
        fh.set_runtime(rt)
        fh.handler(ranges_event([CLUSTER]), context())  # the redelivery
        assert ingested(admin) == [63092988, 63092990, 63092996]


def test_out_of_time_the_range_stops_cleanly_and_its_redelivery_continues(
    plane: DataPlane, admin: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    fresh_prices(admin)
    with deployed(plane, tmp_path, LEDGERS_PER_INSERT="1"):
        # Plenty of time for the first ledger group, then less than the safety margin.
        response = fh.handler(ranges_event([(63092990, 63092996)]), context(600_000, fh.STOP_BEFORE_TIMEOUT_MS - 1))
        assert failed_ids(response) == {"63092990-63092996"}
        assert ingested(admin) == [63092996]  # newest first, and only what fitted
        response = fh.handler(ranges_event([(63092990, 63092996)]), context())
        assert ingested(admin) == [63092990, 63092996]
        # Still failed: the archive lacks 63092991..95, which no redelivery can fix (the DLQ gets it).
        assert failed_ids(response) == {"63092990-63092996"}
    # The interrupted delivery's ledger counts too: its redelivery does not write it again.
    published = [m for m in emf_metrics(capsys.readouterr().out) if m.name != "ColdStart"]
    totals = {d.name: sum(m.value for m in published if m.name == d.name) for d in FAN_OUT_METRICS}
    assert totals["LedgersWritten"] == 2 and totals["RangesIncomplete"] == 1 and totals["RangesCompleted"] == 0


def test_recomputed_progress_is_the_watermark_of_the_data(plane: DataPlane, admin: Any, tmp_path: Path) -> None:
    fresh_prices(admin)
    with deployed(plane, tmp_path):
        fh.handler(ranges_event([(63092996, 63092996), (63092990, 63092990)]), context())
        sqs = boto3.client("sqs", region_name="eu-central-1")
        queue_url = sqs.create_queue(QueueName="prices-local-backfill")["QueueUrl"]
        out = io.StringIO()
        args = ["status", "--recompute", "--from", str(CLUSTER[0]), "--to", str(CLUSTER[1])]
        args += ["--endpoints", str(plane.endpoints_file)]
        assert cli_main([*args, "--queue-url", queue_url], out=out) == 0
        (row,) = read_progress(admin, "history")
        # 63092991..95 are missing, so only [63092996, 63092996] is complete; the queue is empty: paused.
        assert (row.status, row.current_ledger, row.start_ledger, row.target_ledger) == (
            "paused",
            63092996,
            *CLUSTER,
        )
        assert row.earliest_data_available == datetime.fromtimestamp(1781828531, UTC)
        assert row.newest_data_available == row.earliest_data_available
        # When the newest record of the range was written, not when this ran.
        newest_record = admin.query("SELECT max(inserted_at) FROM prices.ingested_ledgers").result_rows[0][0]
        assert row.last_push_at == newest_record.replace(tzinfo=UTC, microsecond=0)
        assert "history: paused (recomputed from ingested_ledgers)" in out.getvalue()

        sqs.send_message(QueueUrl=queue_url, MessageBody=range_body(*CLUSTER))
        assert cli_main([*args, "--queue-url", queue_url], out=io.StringIO()) == 0
        assert read_progress(admin, "history")[0].status == "running"  # work is queued

        writer = edge_client(plane.endpoints_file, "ingestion")
        try:
            row = fh.recompute_progress(writer, "history", 63092990, 63092990, queue_busy=None)
        finally:
            writer.close()
        assert (row.status, row.current_ledger, row.progress_pct, row.ledgers_remaining) == (
            "completed",
            63092990,
            100.0,
            0,
        )
        assert row.completed_at is not None


def test_highest_gap_walks_windows_from_the_top(admin: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    fresh_prices(admin)
    rows = [[n, datetime(2026, 1, 1, tzinfo=UTC), f"k{n}", "s", 0, 0] for n in range(100, 131) if n != 105]
    admin.insert(
        "prices.ingested_ledgers",
        rows,
        column_names=["ledger", "close_time", "file_key", "sha256", "trade_count", "unresolved_count"],
    )
    monkeypatch.setattr(fh, "MAX_RANGE", 4)  # eight windows for 100..130, the gap in the seventh
    assert fh.highest_gap(admin, 100, 130) == 105
    assert fh.highest_gap(admin, 106, 130) is None
    assert fh.highest_gap(admin, 100, 131) == 131
    assert fh.highest_gap(admin, 90, 104) == 99


# ---- pure pieces ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "problem"),
    [
        ("{{{", "not JSON"),
        ("[1, 2]", "want"),
        (json.dumps({"task": "", "first": 1, "last": 2}), "task must be a non-empty string"),
        (json.dumps({"task": "t", "first": True, "last": 2}), "first must be a ledger number"),
        (json.dumps({"task": "t", "first": 1, "last": 2**32}), "last must be a ledger number"),
        (json.dumps({"task": "t", "first": 9, "last": 5}), "first 9 is above last 5"),
        (json.dumps({"task": "t", "first": 1, "last": 11}), "holds 11 ledgers; this function takes 10"),
    ],
)
def test_bad_messages_are_poison_naming_the_problem(body: str, problem: str) -> None:
    with pytest.raises(fh.PoisonLedgerError, match=problem) as info:
        fh.parse_range(body, max_ledgers=10)
    assert info.value.reason == "bad_message"


def test_ranges_are_cut_top_down_and_tile_the_range() -> None:
    assert list(fh.ranges_top_down(1000, 2200, 500)) == [(1701, 2200), (1201, 1700), (1000, 1200)]
    assert list(fh.ranges_top_down(7, 7, 500)) == [(7, 7)]
    with pytest.raises(ValueError, match="invalid ledger range --from 9 --to 5"):
        list(fh.ranges_top_down(9, 5, 10))
    with pytest.raises(ValueError, match="--per-message must be at least 1"):
        list(fh.ranges_top_down(1, 5, 0))


def test_fanout_command_enqueues_every_range_newest_first_in_batches() -> None:
    with mock_aws():
        sqs = boto3.client("sqs", region_name="eu-central-1")
        queue_url = sqs.create_queue(QueueName="prices-dev-backfill")["QueueUrl"]
        sent: list[int] = []
        real_send = sqs.send_message_batch

        def counting(**kwargs: Any) -> Any:
            sent.append(len(kwargs["Entries"]))
            return real_send(**kwargs)

        sqs.send_message_batch = counting  # type: ignore[method-assign]
        assert fh.enqueue_ranges(sqs, queue_url, "history", 1, 2_345, per_message=100) == 24
        assert sent == [10, 10, 4]
        bodies = []
        while True:
            batch = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10).get("Messages", [])
            if not batch:
                break
            bodies += [fh.parse_range(m["Body"], 100) for m in batch]
            sqs.delete_message_batch(
                QueueUrl=queue_url,
                Entries=[{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(batch)],
            )
        covered = sorted(n for m in bodies for n in range(m.first, m.last + 1))
        assert covered == list(range(1, 2_346)) and {m.task for m in bodies} == {"history"}

        out = io.StringIO()
        assert (
            cli_main(["fanout", "--from", "10", "--to", "20", "--queue-url", queue_url, "--per-message", "5"], out=out)
            == 0
        )
        assert "enqueued 3 ranges of up to 5 ledgers, 20 down to 10" in out.getvalue()
        out = io.StringIO()
        assert cli_main(["fanout", "--from", "20", "--to", "10", "--queue-url", queue_url], out=out) == 2
        assert "invalid ledger range --from 20 --to 10" in out.getvalue()
        out = io.StringIO()
        assert cli_main(["status", "--recompute", "--to", "10"], out=out) == 2
        assert "needs --from and --to" in out.getvalue()


def test_the_archive_is_listed_only_over_the_range(tmp_path: Path) -> None:
    with mock_aws():
        s3 = boto3.client("s3", region_name=REGION)
        s3.create_bucket(Bucket=ARCHIVE, CreateBucketConfiguration={"LocationConstraint": REGION})
        present = [*range(126_000, 128_000), *range(128_000, 128_010)]  # across a partition boundary
        for seq in present:
            s3.put_object(Bucket=ARCHIVE, Key=PREFIX + ledger_key_for(seq), Body=b"x")
        # Not an archive key, listed between two of the range's ledgers: skipped.
        s3.put_object(Bucket=ARCHIVE, Key=PREFIX + ledger_key_for(126_105) + ".partial", Body=b"an upload")
        lists: list[dict[str, Any]] = []
        s3.meta.events.register("before-parameter-build.s3.ListObjectsV2", lambda params, **_: lists.append(params))
        source = S3Source(ARCHIVE, PREFIX, s3)
        assert source.locate(126_100, 126_109) == {seq: PREFIX + ledger_key_for(seq) for seq in range(126_100, 126_110)}
        # 1,900 newer keys in the same partition were skipped by StartAfter: one request, not two pages.
        assert len(lists) == 1 and lists[0]["StartAfter"] < PREFIX + ledger_key_for(126_109)
        lists.clear()
        assert sorted(source.locate(127_995, 128_004)) == list(range(127_995, 128_005))
        assert len(lists) == 2  # one per partition touched
        assert source.locate(128_010, 128_020) == {}
