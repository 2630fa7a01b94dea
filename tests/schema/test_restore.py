"""Restore and verification SQL derived from the migrations (the drill runs it on the engine:
tests/lambdas/workers/test_backup_restore_drill.py)."""

from __future__ import annotations

import pytest

from schema.restore import (
    RestoreInputError,
    data_tables,
    fingerprint_sql,
    main,
    refreshable_views,
    replaced_by_refresh,
    restore_sql,
)

pytestmark = pytest.mark.unit

PATH = "clickhouse/prices/20261124T030000Z"
STATEMENTS = [
    "CREATE DATABASE IF NOT EXISTS prices",
    "CREATE TABLE IF NOT EXISTS prices.a (x UInt8) ENGINE = ReplacingMergeTree(x) ORDER BY x",
    "CREATE TABLE IF NOT EXISTS prices.b (x UInt8) ENGINE = MergeTree ORDER BY x",
    "CREATE VIEW IF NOT EXISTS prices.v AS SELECT 1",
    "CREATE MATERIALIZED VIEW IF NOT EXISTS prices.mv_a\nREFRESH EVERY 1 MINUTE\nAPPEND TO prices.a (x) AS SELECT 1",
    "CREATE MATERIALIZED VIEW IF NOT EXISTS prices.mv_b\nREFRESH EVERY 1 MINUTE\nTO prices.b (x) AS SELECT 1",
]


def test_tables_and_refreshable_views_come_from_the_statements() -> None:
    assert data_tables(STATEMENTS) == {"a": "ReplacingMergeTree", "b": "MergeTree"}
    assert refreshable_views(STATEMENTS) == ("mv_a", "mv_b")
    # Only the view without APPEND rewrites its whole table.
    assert replaced_by_refresh(STATEMENTS) == ("b",)


def test_the_real_schema_lists_every_tier_and_view() -> None:
    tables = data_tables()
    assert {f"price_ohlcv_{t}" for t in ("1m", "15m", "1h", "4h", "1d", "1w", "1M")} <= set(tables)
    assert {"oracle_prices", "backfill_progress", "current_prices", "assets", "candle_parts_1m"} <= set(tables)
    assert set(refreshable_views()) >= {"mv_rollup_1m", "mv_rollup_15m", "mv_rollup_1M", "mv_current_prices"}
    assert "current_prices" in replaced_by_refresh()
    assert not set(replaced_by_refresh()) & {f"price_ohlcv_{t}" for t in ("1m", "15m", "1h")}


def test_a_table_without_an_engine_clause_stops_the_listing() -> None:
    with pytest.raises(ValueError, match=r"cannot tell the engine of prices\.c"):
        data_tables(["CREATE TABLE IF NOT EXISTS prices.c AS prices.a"])


def test_restore_sql_leaves_the_refreshable_views_out() -> None:
    assert restore_sql(PATH, collection="prices_backups", views=("mv_a", "mv_b")) == (
        f"RESTORE DATABASE prices EXCEPT TABLES prices.mv_a, prices.mv_b FROM S3(prices_backups, '{PATH}')"
    )
    assert restore_sql(PATH, collection="prices_backups", into="prices_restore_drill", views=()) == (
        f"RESTORE DATABASE prices AS prices_restore_drill FROM S3(prices_backups, '{PATH}')"
    )
    every_view = restore_sql(PATH, collection="prices_backups")
    assert all(f"prices.{view}" in every_view for view in refreshable_views())


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"path": "clickhouse/prices/latest"}, "backup path"),
        ({"path": f"{PATH}'); DROP DATABASE prices; --"}, "backup path"),
        ({"path": f"/{PATH}"}, "backup path"),
        ({"into": "prices-copy"}, "database name"),
        ({"collection": "Backups"}, "named collection 'Backups'"),
        ({"collection": "prices_backups', 'x"}, "named collection"),
    ],
)
def test_restore_sql_refuses_what_cannot_go_into_sql_text(kwargs: dict[str, str], message: str) -> None:
    args = {"path": PATH, "collection": "prices_backups", "into": "prices", **kwargs}
    with pytest.raises(RestoreInputError, match=message):
        restore_sql(args["path"], collection=args["collection"], into=args["into"])


def test_fingerprints_use_final_only_where_rows_merge_and_every_column() -> None:
    sql = fingerprint_sql("prices_restore_drill", {"a": "ReplacingMergeTree", "b": "MergeTree"})
    assert "FROM prices_restore_drill.a FINAL" in sql
    assert "FROM prices_restore_drill.b\n" in sql and "prices_restore_drill.b FINAL" not in sql
    assert sql.count("cityHash64(tuple(*))") == 4
    assert sql.startswith("SELECT * FROM (") and sql.endswith(") ORDER BY table")
    with pytest.raises(RestoreInputError, match="database name"):
        fingerprint_sql("prices; DROP TABLE x")
    with pytest.raises(RestoreInputError, match="no tables"):
        fingerprint_sql("prices", {})


def test_the_cli_prints_sql_and_refuses_bad_input(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["restore-sql", "--path", PATH, "--into", "prices_restore_drill"]) == 0
    out = capsys.readouterr().out.strip()
    assert out == restore_sql(PATH, collection="prices_backups", into="prices_restore_drill") + ";"
    assert main(["verify-sql", "--database", "prices_restore_drill"]) == 0
    assert capsys.readouterr().out.strip() == fingerprint_sql("prices_restore_drill") + ";"
    assert main(["views"]) == 0
    assert capsys.readouterr().out.split() == [f"prices.{v}" for v in refreshable_views()]
    assert main(["restore-sql", "--path", "latest"]) == 2
    assert "error: backup path 'latest'" in capsys.readouterr().err
