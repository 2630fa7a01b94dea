"""The writer's retry/dedup contract, and ingest_files through the real mTLS edge of the local data plane."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from clickhouse_connect.driver.exceptions import OperationalError

from lambdas.ledger_processor.ingest_files import ingest_files, rollup_windows
from lambdas.ledger_processor.writer import ClickHouseWriteError, insert_idempotent
from local.dataplane import start_dataplane
from schema.rollups import TIERS
from tests.lambdas.ledger_processor.helpers import FIXTURES, MAINNET
from tests.lambdas.ledger_processor.test_candles_engine import admin_client, fixture_paths, refresh_chain, snapshot


class FlakyClient:
    def __init__(self, failures: int) -> None:
        self.failures = failures
        self.calls: list[dict[str, Any]] = []

    def insert(self, table: str, rows: Any, **kw: Any) -> None:
        self.calls.append({"table": table, **kw})
        if len(self.calls) <= self.failures:
            raise OperationalError("connection refused")


def test_inserts_are_retried_with_the_same_deduplication_token_then_reported() -> None:
    client, sleeps = FlakyClient(2), list[float]()
    insert_idempotent(client, "t", [[1]], columns=["a"], types=["UInt8"], token="tok-1", sleep=sleeps.append)
    assert [c["settings"] for c in client.calls] == [{"insert_deduplication_token": "tok-1"}] * 3
    assert sleeps == [0.2, 0.8]
    with pytest.raises(ClickHouseWriteError, match="after 3 attempts"):
        insert_idempotent(FlakyClient(5), "t", [[1]], columns=["a"], types=["UInt8"], token="x", sleep=sleeps.append)


def test_rollup_windows_merge_overlapping_pivot_reach() -> None:

    m = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)
    windows = rollup_windows([m, m + timedelta(minutes=30), m + timedelta(days=3)])
    assert windows == [
        (m, m + timedelta(minutes=30 + 61)),
        (m + timedelta(days=3), m + timedelta(days=3, minutes=61)),
    ]


@pytest.mark.engine
@pytest.mark.edge
def test_ingest_files_writes_through_the_edge_and_candles_are_visible_at_every_tier_at_once(tmp_path: Path) -> None:
    messages: list[str] = []
    with start_dataplane(tmp_path / "plane", progress=lambda _m: None) as plane:
        admin = admin_client(type("A", (), {"host": "127.0.0.1", "port": int(plane.clickhouse_http.rsplit(":", 1)[1])}))
        for view in ("prices.mv_rollup_1m", "prices.mv_rollup_15m"):
            admin.command(f"SYSTEM STOP VIEW {view}")  # prove the rollup comes from ingest_files itself
        paths = [*fixture_paths(), FIXTURES / "testnet-local/FFFFFC18--999.xdr.zstd"]
        report = ingest_files(paths, plane.endpoints_file, progress=messages.append)
        assert sorted(report.ledgers) == sorted(MAINNET)
        assert report.trades == 481 and not report.ok
        (bad,) = [f for f in report.files if f.error]
        assert bad.error is not None and "wrong_network" in bad.error and bad.path.endswith("FFFFFC18--999.xdr.zstd")
        assert len(messages) == len(paths) + 1 and "SKIPPED" in messages[-2]
        by_ingest = snapshot(admin)
        assert all(by_ingest[t] for t in TIERS)
        assert sum(r[-2] for r in by_ingest["1m"]) == 481
        # A second ingest is a no-op, and the refresh views agree with what ingest_files rolled.
        ingest_files(fixture_paths(), plane.endpoints_file, progress=messages.append)
        for view in ("prices.mv_rollup_1m", "prices.mv_rollup_15m"):
            admin.command(f"SYSTEM START VIEW {view}")
        refresh_chain(admin)
        assert snapshot(admin) == by_ingest
