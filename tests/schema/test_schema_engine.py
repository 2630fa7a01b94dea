"""The schema on the real engine (chDB) through the HTTP stand-in, with clickhouse-connect."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest
from clickhouse_connect.driver.exceptions import DatabaseError

from schema.migrations import all_statements, apply_migrations
from schema.rbac import prices_access_model, render_rbac_sql
from schema.rollups import OUTPUT_COLUMNS, STEPS, TIERS, rollup_range

pytestmark = pytest.mark.engine

# Row tuples below put the timestamp first; the column set is the tiers' own.
COLS = ["timestamp", *(c for c in OUTPUT_COLUMNS if c != "timestamp")]


def ts(text: str) -> datetime:
    return datetime.strptime(text, "%Y-%m-%d %H:%M").replace(tzinfo=UTC)


def bar(asset: str, *spec: Any) -> list[Any]:
    """One 1m row from (minute, open, high, low, close, volume_base, volume_quote, trades, version)."""
    when, o, h, lo, c, vb, vq, tc, version = spec
    return [
        ts(when),
        asset,
        "native",
        "sdex",
        o,
        h,
        lo,
        c,
        Decimal(vb),
        Decimal(vq),
        float(vq) / 10,
        c / 10,
        vq / vb,
        tc,
        version,
    ]


@pytest.fixture(autouse=True)
def no_background_merges(admin: Any) -> None:
    # Background merges would dedupe re-inserted rows before a rollup reads them and hide a
    # missing FINAL; with merges stopped only FINAL can make the results right.
    for tier in TIERS:
        admin.command(f"SYSTEM STOP MERGES prices.price_ohlcv_{tier}")


def insert_1m(client: Any, rows: list[list[Any]]) -> None:
    client.insert("prices.price_ohlcv_1m", rows, column_names=COLS)


def refresh_chain(client: Any) -> None:
    for step in STEPS:
        client.command(f"SYSTEM REFRESH VIEW {step.refresh_view}")
        client.command(f"SYSTEM WAIT VIEW {step.refresh_view}")
    failures = client.query(
        "SELECT view, exception FROM system.view_refreshes WHERE database = 'prices' AND exception != ''"
    ).result_rows
    assert failures == []


def candles(client: Any, tier: str, asset: str) -> dict[str, dict[str, Any]]:
    rows = client.query(
        f"SELECT formatDateTime(timestamp, '%Y-%m-%d %H:%i') AS t, open, high, low, close, "
        f"toFloat64(volume_base) AS vb, toFloat64(volume_quote) AS vq, vwap, trade_count, version, close_usd "
        f"FROM prices.price_ohlcv_{tier} FINAL WHERE asset_id = {{a:String}} ORDER BY timestamp",
        parameters={"a": asset},
    ).named_results()
    return {r.pop("t"): r for r in rows}


def test_migrations_apply_twice_and_create_everything(admin: Any) -> None:
    apply_migrations(admin.command)
    tables = {
        name: (engine, sorting, partition)
        for name, engine, sorting, partition in admin.query(
            "SELECT name, engine, sorting_key, partition_key FROM system.tables WHERE database = 'prices'"
        ).result_rows
    }
    ohlcv_key = "asset_id, quote_asset_id, source, timestamp"
    for tier in TIERS:
        assert tables[f"price_ohlcv_{tier}"] == ("ReplacingMergeTree", ohlcv_key, "toYYYYMM(timestamp)")
    assert tables["assets"] == ("ReplacingMergeTree", "asset_id", "")
    assert tables["current_prices"] == ("ReplacingMergeTree", "asset_id", "")
    assert tables["oracle_prices"] == (
        "ReplacingMergeTree",
        "asset_id, oracle_name, timestamp",
        "toYYYYMM(timestamp)",
    )
    assert tables["backfill_progress"] == ("ReplacingMergeTree", "task_name", "")
    for step in STEPS:
        assert tables[step.refresh_view.split(".")[1]][0] == "MaterializedView"
        assert tables[step.select_view.split(".")[1]][0] == "View"
    # 1m and 1M differ only by case: both must exist as distinct tables.
    assert "price_ohlcv_1m" in tables and "price_ohlcv_1M" in tables


def test_every_tier_has_identical_columns_and_the_inserted_at_index(admin: Any) -> None:
    shapes = {}
    for tier in TIERS:
        shapes[tier] = admin.query(
            "SELECT name, type, compression_codec FROM system.columns "
            "WHERE database = 'prices' AND table = {t:String} ORDER BY position",
            parameters={"t": f"price_ohlcv_{tier}"},
        ).result_rows
    first = shapes["1m"]
    assert ("asset_id", "String", "") in first
    assert ("source", "LowCardinality(String)", "") in first
    assert ("volume_base", "Decimal(38, 18)", "") in first
    assert ("timestamp", "DateTime('UTC')", "CODEC(DoubleDelta, ZSTD(1))") in first
    assert all(shape == first for shape in shapes.values())
    idx = admin.query(
        "SELECT table, expr, type FROM system.data_skipping_indices WHERE database = 'prices'"
    ).result_rows
    # candle_parts_1m (the ingestion's per-ledger parts) carries the same index; this test is about the tiers.
    tiers_with_index = (
        t for t, expr, typ in idx if expr == "inserted_at" and typ == "minmax" and t.startswith("price_ohlcv_")
    )
    assert sorted(tiers_with_index) == sorted(f"price_ohlcv_{t}" for t in TIERS)


def test_refreshable_views_are_chained_with_depends_on(admin: Any) -> None:
    # system.view_refreshes has no dependencies column on 26.9: read the stored DDL.
    ddl = dict(
        admin.query(
            "SELECT name, create_table_query FROM system.tables WHERE database = 'prices' AND name LIKE 'mv_rollup_%'"
        ).result_rows
    )
    scheduled = {
        v for (v,) in admin.query("SELECT view FROM system.view_refreshes WHERE database = 'prices'").result_rows
    }
    # mv_current_prices (013) is the one refreshable view outside the rollup chain (tests/lambdas/api).
    assert scheduled == set(ddl) | {"mv_current_prices"}

    def depends(view: str) -> str | None:
        text = ddl[view]
        assert "REFRESH EVERY 1 MINUTE" in text and " APPEND TO " in text, text
        if "DEPENDS ON " not in text:
            return None
        return text.split("DEPENDS ON ", 1)[1].split()[0]

    assert depends("mv_rollup_15m") is None
    assert depends("mv_rollup_1h") == "prices.mv_rollup_15m"
    assert depends("mv_rollup_4h") == "prices.mv_rollup_1h"
    assert depends("mv_rollup_1d") == "prices.mv_rollup_4h"
    # Both from 1d (trap 3), not 1M from 1w.
    assert depends("mv_rollup_1w") == "prices.mv_rollup_1d"
    assert depends("mv_rollup_1M") == "prices.mv_rollup_1d"


BOUNDARY_ROWS = [
    # asset, minute, open, high, low, close, volume_base, volume_quote, trades, version
    ("B", "2024-01-30 23:59", 1.0, 2.0, 0.5, 1.5, 10, 15, 1, 100),
    ("B", "2024-01-31 00:00", 2.0, 3.0, 1.5, 2.5, 20, 50, 2, 101),
    ("B", "2024-01-31 23:59", 3.0, 4.0, 2.5, 3.5, 30, 105, 3, 102),
    ("B", "2024-02-01 00:00", 4.0, 5.0, 3.5, 4.5, 40, 180, 4, 103),
    ("B", "2024-02-01 00:14", 5.0, 6.0, 4.5, 5.5, 50, 275, 5, 104),
]


def ohlc(c: dict[str, Any]) -> tuple[Any, ...]:
    return (c["open"], c["high"], c["low"], c["close"], c["vb"], c["vq"], c["trade_count"], c["version"])


def test_rollup_chain_across_day_and_month_boundaries_then_correction(admin: Any) -> None:
    insert_1m(admin, [bar(*r) for r in BOUNDARY_ROWS])
    refresh_chain(admin)

    m15 = candles(admin, "15m", "B")
    assert ohlc(m15["2024-01-31 23:45"]) == (3.0, 4.0, 2.5, 3.5, 30.0, 105.0, 3, 102)
    assert ohlc(m15["2024-02-01 00:00"]) == (4.0, 6.0, 3.5, 5.5, 90.0, 455.0, 9, 104)
    assert m15["2024-02-01 00:00"]["vwap"] == pytest.approx(455 / 90)
    assert m15["2024-02-01 00:00"]["close_usd"] == pytest.approx(0.55)
    assert list(m15) == [
        "2024-01-30 23:45",
        "2024-01-31 00:00",
        "2024-01-31 23:45",
        "2024-02-01 00:00",
    ]
    h1 = candles(admin, "1h", "B")
    assert ohlc(h1["2024-01-31 23:00"]) == (3.0, 4.0, 2.5, 3.5, 30.0, 105.0, 3, 102)
    assert ohlc(h1["2024-02-01 00:00"]) == (4.0, 6.0, 3.5, 5.5, 90.0, 455.0, 9, 104)
    h4 = candles(admin, "4h", "B")
    assert list(h4) == ["2024-01-30 20:00", "2024-01-31 00:00", "2024-01-31 20:00", "2024-02-01 00:00"]
    d1 = candles(admin, "1d", "B")
    assert ohlc(d1["2024-01-31 00:00"]) == (2.0, 4.0, 1.5, 3.5, 50.0, 155.0, 5, 102)
    assert ohlc(d1["2024-02-01 00:00"]) == (4.0, 6.0, 3.5, 5.5, 90.0, 455.0, 9, 104)
    w1 = candles(admin, "1w", "B")
    # 2024-01-29 is a Monday: the whole sample is one week.
    assert ohlc(w1["2024-01-29 00:00"]) == (1.0, 6.0, 0.5, 5.5, 150.0, 625.0, 15, 104)
    mo = candles(admin, "1M", "B")
    # From 1d, so the January/February split is exact (from 1w it would all land in January).
    assert ohlc(mo["2024-01-01 00:00"]) == (1.0, 4.0, 0.5, 3.5, 60.0, 170.0, 6, 102)
    assert ohlc(mo["2024-02-01 00:00"]) == (4.0, 6.0, 3.5, 5.5, 90.0, 455.0, 9, 104)
    assert mo["2024-02-01 00:00"]["vwap"] == pytest.approx(455 / 90)

    # Correction of the 00:14 bar with a higher version: corrected values, no double counting.
    insert_1m(admin, [bar("B", "2024-02-01 00:14", 5.0, 8.0, 4.5, 7.5, 60, 420, 6, 105)])
    unmerged = admin.query(
        "SELECT count() FROM prices.price_ohlcv_1m WHERE asset_id = 'B' AND timestamp = '2024-02-01 00:14:00'"
    ).result_rows
    assert unmerged == [(2,)]
    refresh_chain(admin)
    expected_feb = (4.0, 8.0, 3.5, 7.5, 100.0, 600.0, 10, 105)
    assert ohlc(candles(admin, "15m", "B")["2024-02-01 00:00"]) == expected_feb
    assert ohlc(candles(admin, "1h", "B")["2024-02-01 00:00"]) == expected_feb
    assert ohlc(candles(admin, "4h", "B")["2024-02-01 00:00"]) == expected_feb
    assert ohlc(candles(admin, "1d", "B")["2024-02-01 00:00"]) == expected_feb
    assert ohlc(candles(admin, "1M", "B")["2024-02-01 00:00"]) == expected_feb
    assert ohlc(candles(admin, "1w", "B")["2024-01-29 00:00"]) == (1.0, 8.0, 0.5, 7.5, 160.0, 770.0, 16, 105)
    assert candles(admin, "1M", "B")["2024-02-01 00:00"]["vwap"] == pytest.approx(6.0)
    # Untouched buckets are unchanged.
    assert ohlc(candles(admin, "1M", "B")["2024-01-01 00:00"]) == (1.0, 4.0, 0.5, 3.5, 60.0, 170.0, 6, 102)


def test_years_old_rows_are_rolled_up_because_the_trigger_is_inserted_at(admin: Any) -> None:
    insert_1m(
        admin,
        [
            bar("OLD", "2019-03-05 12:00", 10.0, 11.0, 9.0, 10.5, 2, 21, 1, 7),
            bar("OLD", "2019-03-05 12:01", 10.5, 12.0, 10.0, 11.5, 3, 33, 2, 8),
        ],
    )
    refresh_chain(admin)
    expected = (10.0, 12.0, 9.0, 11.5, 5.0, 54.0, 3, 8)
    assert ohlc(candles(admin, "15m", "OLD")["2019-03-05 12:00"]) == expected
    assert ohlc(candles(admin, "1d", "OLD")["2019-03-05 00:00"]) == expected
    assert ohlc(candles(admin, "1w", "OLD")["2019-03-04 00:00"]) == expected
    assert ohlc(candles(admin, "1M", "OLD")["2019-03-01 00:00"]) == expected


def test_later_recompute_wins_when_max_version_is_equal(admin: Any) -> None:
    insert_1m(admin, [bar("EQ", "2024-05-10 10:00", 1.0, 1.0, 1.0, 1.0, 1, 1, 1, 500)])
    refresh_chain(admin)
    assert candles(admin, "15m", "EQ")["2024-05-10 10:00"]["vb"] == 1.0
    # A late bar with an OLDER version lands in the same bucket: the recomputed bucket has the
    # same max(version) = 500 as the stored one, and must still replace it.
    insert_1m(admin, [bar("EQ", "2024-05-10 10:05", 2.0, 3.0, 0.5, 2.0, 2, 4, 1, 400)])
    refresh_chain(admin)
    for tier, key in (("15m", "2024-05-10 10:00"), ("1d", "2024-05-10 00:00"), ("1M", "2024-05-01 00:00")):
        got = candles(admin, tier, "EQ")[key]
        assert (got["vb"], got["close"], got["high"], got["version"]) == (3.0, 2.0, 3.0, 500), tier
    # Still true once the parts are merged (not just at FINAL read time).
    admin.command("SYSTEM START MERGES prices.price_ohlcv_15m")
    admin.command("OPTIMIZE TABLE prices.price_ohlcv_15m FINAL")
    rows = admin.query("SELECT toFloat64(volume_base) FROM prices.price_ohlcv_15m WHERE asset_id = 'EQ'").result_rows
    assert rows == [(3.0,)]


def test_rollup_range_rebuilds_the_same_candles_as_the_views(admin: Any) -> None:
    sample = [
        ("2023-12-31 23:58", 7.0, 7.5, 6.5, 7.2, 4, 28, 1, 900),
        ("2024-01-01 00:03", 7.2, 9.0, 7.0, 8.0, 6, 48, 2, 901),
        ("2024-01-01 04:10", 8.0, 8.1, 5.0, 6.0, 10, 60, 3, 902),
    ]
    # Same bars twice: "RV" rolled by the refreshable views, "RR" only by rollup_range. RR's
    # inserted_at is far outside the look-back, so the views must leave it alone.
    insert_1m(admin, [bar("RV", *r) for r in sample])
    admin.insert(
        "prices.price_ohlcv_1m",
        [[*bar("RR", *r), ts("2020-01-01 00:00")] for r in sample],
        column_names=[*COLS, "inserted_at"],
    )
    refresh_chain(admin)
    by_views = {tier: candles(admin, tier, "RV") for tier in TIERS[1:]}
    assert ohlc(by_views["1w"]["2023-12-25 00:00"]) == (7.0, 7.5, 6.5, 7.2, 4.0, 28.0, 1, 900)
    assert ohlc(by_views["1w"]["2024-01-01 00:00"]) == (7.2, 9.0, 5.0, 6.0, 16.0, 108.0, 5, 902)
    assert all(candles(admin, tier, "RR") == {} for tier in TIERS[1:])

    touched = rollup_range(
        lambda sql, params: admin.command(sql, parameters=params),
        ts("2023-12-31 00:00"),
        ts("2024-01-02 00:00"),
    )
    assert touched == [s.target_table for s in STEPS]
    assert {tier: candles(admin, tier, "RR") for tier in TIERS[1:]} == by_views


def test_rollup_range_binds_parameters_and_rejects_bad_ranges(admin: Any) -> None:
    seen: list[tuple[str, dict[str, str]]] = []
    rollup_range(lambda sql, p: seen.append((sql, dict(p))), ts("2024-01-01 00:00"), ts("2024-01-01 01:00"))
    assert all("2024-01-01" not in sql for sql, _ in seen)
    assert seen[0][1]["from_ts"] == "2024-01-01 00:00:00"
    with pytest.raises(ValueError, match="empty rollup range"):
        rollup_range(admin.command, ts("2024-01-02 00:00"), ts("2024-01-01 00:00"))


def test_rendered_rbac_sql_is_accepted_by_the_parser(admin: Any) -> None:
    """chDB has no writable user storage, so the DDL cannot run; it must still parse."""
    users = prices_access_model()
    sql = render_rbac_sql(users, {u.name: hashlib.sha256(u.name.encode()).hexdigest() for u in users}, ["10.0.0.0/8"])
    statements = [s for s in sql.splitlines() if s and not s.startswith("--")]
    assert len(statements) >= 10
    for stmt in statements:
        with pytest.raises(DatabaseError) as info:
            admin.command(stmt.rstrip(";"))
        # 497 ACCESS_DENIED / 511 UNKNOWN_ROLE come after parsing; 62 would be a syntax error.
        assert "code: 62" not in str(info.value).lower(), stmt


def test_migration_statements_are_not_empty(admin: Any) -> None:
    # database, tiers, 4 reference tables, 2 per rollup step, then the ingestion's 4 (parts table,
    # ingested_ledgers, the parts -> 1m view + refresh view, and unresolved_swaps), then 013's 6 ALTERs of
    # current_prices + the L2 view + its refresh view, then 014's probe_writes table.
    assert len(all_statements()) == 1 + len(TIERS) + 4 + 2 * len(STEPS) + 5 + 8 + 1
