"""Cleanup worker: the retention plan (pure) and DROP PARTITION on the real engine, handler called directly."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest

from lambdas.common import metric_catalog as catalog
from lambdas.common.edge_clickhouse import FixedClickHouse
from lambdas.common.settings import SettingsError, load_env_settings
from lambdas.workers import cleanup
from lambdas.workers.cleanup import CleanupError, Partition, plan_table
from lambdas.workers.settings import CleanupSettings
from tests.chfront_fixture import Front
from tests.lambdas.workers.helpers import (
    FakeContext,
    admin_client,
    assert_catalog_metrics,
    emf_metrics,
    scheduled_event,
    writer_client,
)

pytestmark = pytest.mark.engine

NOW = datetime(2024, 6, 15, 12, 0, tzinfo=UTC)
RETENTION = {"price_ohlcv_1m": 7, "price_ohlcv_15m": 30, "oracle_prices": 396}
TABLES = ("price_ohlcv_1m", "price_ohlcv_15m", "price_ohlcv_1h", "price_ohlcv_1d", "oracle_prices")


def at(text: str) -> datetime:
    return datetime.strptime(text, "%Y-%m-%d %H:%M:%S").replace(tzinfo=UTC)


# Per table: the row timestamps inserted. Cutoffs at NOW: 1m 2024-06-08 12:00, 15m 2024-05-16 12:00,
# oracle_prices 2023-05-16 12:00 (396 days).
ROWS: dict[str, list[str]] = {
    "price_ohlcv_1m": [
        "2024-03-10 08:00:00",
        "2024-04-30 23:59:00",
        "2024-05-31 23:59:00",  # 202405 ends before the cutoff: dropped
        "2024-06-01 00:00:00",
        "2024-06-14 10:00:00",  # 202406 holds recent rows: kept whole, its old rows too
    ],
    "price_ohlcv_15m": [
        "2024-04-01 00:00:00",
        "2024-04-30 23:45:00",
        "2024-05-02 00:00:00",
        "2024-05-16 12:00:00",  # exactly the cutoff: not older, so 202405 stays
        "2024-06-01 00:00:00",
    ],
    "price_ohlcv_1h": ["2022-01-01 00:00:00", "2023-01-01 00:00:00", "2024-06-01 00:00:00"],
    "price_ohlcv_1d": ["2021-07-01 00:00:00", "2024-06-01 00:00:00"],
    "oracle_prices": [
        "2023-04-10 00:00:00",
        "2023-05-01 00:00:00",
        "2023-05-16 11:59:59",  # one second before the cutoff: 202305 is entirely older, dropped
        "2023-06-01 00:00:00",
        "2024-06-01 00:00:00",
    ],
}
EXPECTED_LEFT = {
    "price_ohlcv_1m": ["202406"],
    "price_ohlcv_15m": ["202405", "202406"],
    "price_ohlcv_1h": ["202201", "202301", "202406"],
    "price_ohlcv_1d": ["202107", "202406"],
    "oracle_prices": ["202306", "202406"],
}
EXPECTED_DROPPED = {
    "price_ohlcv_1m": ["202403", "202404", "202405"],
    "price_ohlcv_15m": ["202404"],
    "oracle_prices": ["202304", "202305"],
}


def partitions(front: Front) -> dict[str, list[str]]:
    rows = (
        admin_client(front)
        .query(
            "SELECT table, groupArray(DISTINCT partition_id) FROM system.parts "
            "WHERE database = 'prices' AND active AND table IN {tables:Array(String)} GROUP BY table",
            parameters={"tables": list(TABLES)},
        )
        .result_rows
    )
    return {table: sorted(ids) for table, ids in rows}


@pytest.fixture
def months_of_data(front: Front) -> Front:
    admin = admin_client(front)
    for table in TABLES:
        admin.command(f"TRUNCATE TABLE prices.{table}")
    for table, stamps in ROWS.items():
        if table == "oracle_prices":
            data = [["native", "reflector-cex", at(s), 0.1, "{}"] for s in stamps]
            cols = ["asset_id", "oracle_name", "timestamp", "price_usd", "raw_data"]
        else:
            data = [["native", "USDC", "sdex", at(s), 0.1, 1] for s in stamps]
            cols = ["asset_id", "quote_asset_id", "source", "timestamp", "close", "version"]
        # Two inserts interleaving the rows: partitions of several parts, as production has before merges.
        for batch in (data[::2], data[1::2]):
            admin.insert(f"prices.{table}", batch, column_names=cols)
    assert partitions(front) == {t: sorted({at(s).strftime("%Y%m") for s in stamps}) for t, stamps in ROWS.items()}
    return front


@pytest.fixture(autouse=True)
def _reset_runtime() -> Iterator[None]:
    yield
    cleanup.set_runtime(None)


def env(**overrides: str) -> dict[str, str]:
    return {
        "CLICKHOUSE_URL": "https://clickhouse.example.org",
        "MTLS_SECRET_NAME": "prices/test/clickhouse-mtls-prices-ingestion-test",
        "RETENTION_DAYS": json.dumps(RETENTION),
        "DRY_RUN": "false",
        **overrides,
    }


def install_runtime(front: Front, client: Any = None, **overrides: str) -> None:
    settings = load_env_settings(cleanup.SETTINGS_MODEL, env(**overrides), "cleanup")
    cleanup.set_runtime(cleanup.Runtime(settings, FixedClickHouse(client or writer_client(front)), clock=lambda: NOW))


# ---- pure ------------------------------------------------------------------------------------------------------


def test_plan_drops_a_partition_only_when_all_of_it_is_older_than_the_retention() -> None:
    now = at("2024-06-08 00:00:00")  # 7 days: cutoff 2024-06-01 00:00:00, a month boundary
    parts = [
        Partition("202405", at("2024-05-31 23:59:59"), 10, 2),  # one second older than the cutoff
        Partition("202406", at("2024-06-01 00:00:00"), 5, 1),  # exactly the cutoff: not older
        Partition("202404", at("2024-04-30 23:59:59"), 7, 3),
    ]
    plan = plan_table("price_ohlcv_1m", 7, parts, now)
    assert plan.cutoff == at("2024-06-01 00:00:00")
    assert [p.partition_id for p in plan.drop] == ["202404", "202405"]
    assert [p.partition_id for p in plan.keep] == ["202406"]
    assert plan.summary(dropped=False)["rows_would_drop"] == 17
    assert [p.partition_id for p in plan_table("price_ohlcv_1m", 8, parts, now).drop] == ["202404"]


def test_a_table_whose_partitions_are_not_months_is_refused_whole() -> None:
    for bad in (
        Partition("20240105", at("2024-01-05 00:00:00"), 1, 1),
        Partition("202401", at("2024-02-01 00:00:00"), 1, 1),
    ):
        with pytest.raises(CleanupError, match="is not a toYYYYMM\\(timestamp\\) month; refusing"):
            plan_table("oracle_prices", 396, [Partition("202301", at("2023-01-09 00:00:00"), 1, 1), bad], NOW)
    with pytest.raises(CleanupError, match="not one retention may drop from"):
        cleanup.allowed_table("assets")


def test_settings_accept_only_listed_tables_and_whole_days() -> None:
    settings = load_env_settings(CleanupSettings, env(DRY_RUN="TRUE"), "cleanup")
    assert settings.RETENTION_DAYS == RETENTION and settings.DRY_RUN is True
    assert (
        load_env_settings(CleanupSettings, {k: v for k, v in env().items() if k != "DRY_RUN"}, "cleanup").DRY_RUN
        is False
    )
    for retention, message in [
        ({"ingested_ledgers": 30}, "'ingested_ledgers' is not one retention may drop from"),
        ({"price_ohlcv_1m; DROP TABLE x": 7}, "is not one retention may drop from"),
        ({"price_ohlcv_1m": 0}, "price_ohlcv_1m: 0 is not a whole number of days >= 1"),
        ({"price_ohlcv_1m": 7.5}, "7.5 is not a whole number"),
        ({}, "at least 1"),
        ([7], "must be a JSON object"),
    ]:
        with pytest.raises(SettingsError, match="RETENTION_DAYS") as info:
            load_env_settings(CleanupSettings, env(RETENTION_DAYS=json.dumps(retention)), "cleanup")
        assert message in str(info.value)
    with pytest.raises(SettingsError, match=r'DRY_RUN .*must be "true" or "false"'):
        load_env_settings(CleanupSettings, env(DRY_RUN="yes"), "cleanup")


# ---- on the engine ------------------------------------------------------------------------------------------------


def test_dry_run_reports_the_plan_and_drops_nothing(months_of_data: Front, capsys: pytest.CaptureFixture[str]) -> None:
    before = partitions(months_of_data)
    install_runtime(months_of_data, DRY_RUN="true")
    summary = cleanup.handler(scheduled_event(), FakeContext())
    assert summary["dry_run"] is True and summary["partitions_dropped"] == 0
    assert {t: s["would_drop"] for t, s in summary["tables"].items()} == EXPECTED_DROPPED
    assert partitions(months_of_data) == before
    assert [(m.name, m.value) for m in emf_metrics(capsys.readouterr().out)] == [("PartitionsDropped", 0.0)]


def test_cleanup_drops_exactly_the_old_partitions_and_never_touches_coarse_tiers(
    months_of_data: Front, capsys: pytest.CaptureFixture[str]
) -> None:
    install_runtime(months_of_data)
    summary = cleanup.handler(scheduled_event(time="2030-01-01T00:00:00Z"), FakeContext())
    assert {t: s["dropped"] for t, s in summary["tables"].items()} == EXPECTED_DROPPED
    assert summary["tables"]["price_ohlcv_15m"]["kept"] == ["202405", "202406"]
    assert summary["partitions_dropped"] == 6 and summary["errors"] == []
    assert partitions(months_of_data) == EXPECTED_LEFT
    # Rows of a kept month survive whole, its older rows included (no row DELETE ever).
    admin = admin_client(months_of_data)
    assert admin.query("SELECT count() FROM prices.price_ohlcv_1m").result_rows == [(2,)]
    assert admin.query("SELECT count() FROM prices.price_ohlcv_15m").result_rows == [(3,)]
    deletes = "SELECT count() FROM system.mutations WHERE database = 'prices' AND command ILIKE '%DELETE%'"
    assert admin.query(deletes).result_rows == [(0,)]
    published = emf_metrics(capsys.readouterr().out)
    assert [(m.name, m.value) for m in published] == [("PartitionsDropped", 6.0)]
    assert_catalog_metrics(published, (catalog.PARTITIONS_DROPPED,))
    # The event's time (2030) moved nothing: a second run with the same clock finds nothing more to drop.
    assert cleanup.handler(scheduled_event(), FakeContext())["partitions_dropped"] == 0


def test_a_failing_table_does_not_stop_the_others_and_fails_the_run(
    months_of_data: Front, capsys: pytest.CaptureFixture[str]
) -> None:
    real = writer_client(months_of_data)

    class RefusesDropOn15m:
        """The server refusing one DROP (as Code 497 did in the reference system)."""

        def query(self, *args: Any, **kwargs: Any) -> Any:
            return real.query(*args, **kwargs)

        def command(self, sql: str, **kwargs: Any) -> Any:
            if "price_ohlcv_15m" in sql:
                raise RuntimeError("Code: 497. DB::Exception: prices_writer: Not enough privileges")
            return real.command(sql, **kwargs)

    install_runtime(months_of_data, client=RefusesDropOn15m())
    with pytest.raises(CleanupError, match="price_ohlcv_15m: Code: 497") as info:
        cleanup.handler(scheduled_event(), FakeContext())
    assert "1 table(s)" in str(info.value)
    left = partitions(months_of_data)
    assert left["price_ohlcv_1m"] == EXPECTED_LEFT["price_ohlcv_1m"]
    assert left["oracle_prices"] == EXPECTED_LEFT["oracle_prices"]
    assert left["price_ohlcv_15m"] == ["202404", "202405", "202406"]
    assert [(m.name, m.value) for m in emf_metrics(capsys.readouterr().out)] == [("PartitionsDropped", 5.0)]
